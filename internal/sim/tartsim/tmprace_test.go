package tartsim_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Clones running while other tart commands garbage-collect tmp/ must never
// lose their tmp entry: the Nomad driver, starting 50 tasks at once, saw
// clones fail with "open $TART_HOME/tmp/<id>: no such file or directory"
// when another command's GC ran between the entry's creation and its lock.
// Without the fix a few clones of each round fail.
func TestConcurrentClonesSurviveTmpGC(t *testing.T) {
	s := newSim(t)
	s.must("create", "--linux", "--disk-size", "1", "base")
	const rounds, clones, collectors = 3, 40, 2
	for round := range rounds {
		stop := make(chan struct{})
		var gc sync.WaitGroup
		gcRuns := make([]int, collectors)
		for g := range collectors {
			gc.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					s.tart("list", "--quiet") // every list GCs tmp/ first
					gcRuns[g]++
				}
			})
		}
		results := make([]result, clones)
		var wg sync.WaitGroup
		for i := range clones {
			wg.Go(func() { results[i] = s.tart("clone", "base", fmt.Sprintf("r%d-c%d", round, i)) })
		}
		wg.Wait()
		close(stop)
		gc.Wait()
		for i, r := range results {
			if r.code != 0 || r.stdout != "" || r.stderr != "" {
				t.Errorf("round %d clone %d: %v", round, i, r)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
		t.Logf("round %d: %d clones, %v GC runs meanwhile", round, clones, gcRuns)
	}
	names := s.must("list", "--source", "local", "--quiet")
	if n := len(bytes.Fields([]byte(names))); n != rounds*clones+1 {
		t.Fatalf("%d local VMs, want %d:\n%s", n, rounds*clones+1, names)
	}
	if left, _ := os.ReadDir(filepath.Join(s.home, "tmp")); len(left) != 0 {
		t.Fatalf("clones left %d tmp entries behind", len(left))
	}
}

// set --disk copies through a locked tmp/set-disk-<uuid> and moves it over
// disk.img; a source that cannot be read leaves the old disk alone.
func TestSetDiskReplacesDisk(t *testing.T) {
	s := newSim(t)
	s.must("create", "--linux", "--disk-size", "1", "vm")
	disk := filepath.Join(s.home, "vms", "vm", "disk.img")
	src := filepath.Join(t.TempDir(), "new.img")
	if err := os.WriteFile(src, []byte("new disk"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.expect(s.tart("set", "vm", "--disk", src), 0, "")
	if b, _ := os.ReadFile(disk); string(b) != "new disk" {
		t.Fatalf("disk.img = %q, want the copied source", b)
	}
	r := s.tart("set", "vm", "--disk", filepath.Join(t.TempDir(), "missing.img"))
	if r.code != 1 || !bytes.Contains([]byte(r.stderr), []byte("missing.img")) {
		t.Fatalf("missing source: %v", r)
	}
	if b, _ := os.ReadFile(disk); string(b) != "new disk" {
		t.Fatalf("failed set --disk changed disk.img to %q", b)
	}
	if left, _ := os.ReadDir(filepath.Join(s.home, "tmp")); len(left) != 0 {
		t.Fatalf("set --disk left %d tmp entries behind", len(left))
	}
}

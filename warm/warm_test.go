package warm_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tartanhq/tartan/tart"
	"github.com/tartanhq/tartan/warm"
)

// Two jobs in two slots resume their own slot's snapshot at the same time:
// different MACs, different IPs, both resumed (no MAC reset by tart), the
// guest clock set after the resume, and each job's commands reach its own VM.
func TestTwoConcurrentWarmStartsFromPerSlotSnapshots(t *testing.T) {
	w := newWorld(t, warm.Options{})
	spec := w.spec()
	s1, s2 := w.build(spec, "1"), w.build(spec, "2")
	if !strings.HasPrefix(s1.Name, warm.Prefix) || w.macOf(s1.Name) == w.macOf(s2.Name) {
		t.Fatalf("snapshots %s %s share MAC %s", s1.Name, s2.Name, w.macOf(s1.Name))
	}
	var wg sync.WaitGroup
	started := make([]*warm.Started, 2)
	errs := make([]error, 2)
	for i, slot := range []string{"1", "2"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started[i], errs[i] = w.start(w.m, spec, slot, "job-"+slot)
		}()
	}
	wg.Wait()
	for i := range started {
		if errs[i] != nil || !started[i].Warm {
			t.Fatalf("job %d: err %v, started %+v\nlog:\n%s", i+1, errs[i], started[i], w.logs)
		}
		log := w.runLog(started[i].Run)
		if !strings.Contains(log, "resuming VM...") || strings.Contains(log, "Resetting VM") {
			t.Fatalf("job %d did not resume cleanly:\n%s", i+1, log)
		}
		if got := runGuest(t, started[i].Transport, `cat "$HOME/clock-set"`); strings.TrimSpace(got) == "" {
			t.Fatalf("job %d: guest clock not set after the resume", i+1)
		}
	}
	if a, b := w.ip("job-1"), w.ip("job-2"); a == b {
		t.Fatalf("both warm VMs got IP %s", a)
	}
	// Each transport reaches its own VM: a file written through job-1 is
	// not seen through job-2.
	runGuest(t, started[0].Transport, `echo one > "$HOME/who"`)
	if out := runGuest(t, started[1].Transport, `cat "$HOME/who" 2>/dev/null || echo none`); strings.TrimSpace(out) != "none" {
		t.Fatalf("job-2 sees job-1's file: %q", out)
	}
	// The snapshots are still there for the next jobs.
	for _, slot := range []string{"1", "2"} {
		if _, err := w.m.Lookup(ctxT(t, 30*time.Second), spec, slot); err != nil {
			t.Fatalf("slot %s snapshot gone after use: %v", slot, err)
		}
	}
}

// The naive way (one snapshot, cloned for both slots) clashes: both clones
// carry the snapshot's MAC, so tart resets the second one's MAC and it
// boots cold, losing the warm start (across TART_HOMEs the two VMs would
// even share an IP; see the tart-sim test TestSameMACAcrossHomesSharesIP).
func TestNaiveSharedSnapshotClashes(t *testing.T) {
	w := newWorld(t, warm.Options{})
	snap := w.build(w.spec(), "1")
	ctx := ctxT(t, 2*time.Minute)
	for _, vm := range []string{"naive-a", "naive-b"} {
		if err := w.c.Clone(ctx, snap.Name, vm, tart.CloneOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if w.macOf("naive-a") != w.macOf("naive-b") {
		t.Fatal("clones of one suspended VM should keep its MAC")
	}
	ha, err := w.c.Run(ctx, "naive-a", tart.RunOptions{NoGraphics: true})
	if err != nil {
		t.Fatal(err)
	}
	hb, err := w.c.Run(ctx, "naive-b", tart.RunOptions{NoGraphics: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(w.runLog(ha), "resuming VM...") {
		t.Fatalf("first clone did not resume: %s", w.runLog(ha))
	}
	if lb := w.runLog(hb); !strings.Contains(lb, "There is already a running VM with the same MAC address!") || strings.Contains(lb, "restoring VM state") {
		t.Fatalf("second clone should have been reset and booted cold: %s", lb)
	}
}

func TestFailedResumeFallsBackToColdAndRebuilds(t *testing.T) {
	w := newWorld(t, warm.Options{})
	spec := w.spec()
	w.build(spec, "1")
	faulty := w.manager(simClient(t, w.home, "TART_SIM_RESUME_FAIL=refuse"), warm.Options{})
	st, err := w.start(faulty, spec, "1", "job")
	if err != nil {
		t.Fatalf("cold fallback failed: %v\n%s", err, w.logs)
	}
	if st.Warm || st.Fallback == nil || !strings.Contains(st.Fallback.Error(), "failed to restore") {
		t.Fatalf("want a cold start explaining the failed restore, got warm=%v fallback=%v", st.Warm, st.Fallback)
	}
	runGuest(t, st.Transport, "true")
	if n := w.logs.count("failed, booting cold and rebuilding"); n != 1 {
		t.Fatalf("resume failure logged %d times:\n%s", n, w.logs)
	}
	if _, err := w.m.Lookup(ctxT(t, 30*time.Second), spec, "1"); !isNoSnapshot(err) {
		t.Fatalf("the failed snapshot is still offered: %v", err)
	}
	// The next build in the slot makes a new one.
	w.build(spec, "1")

	// A garbled resume (runs, but the guest never answers) is caught by
	// the normal connect check within ResumeTimeout.
	garbled := w.manager(simClient(t, w.home, "TART_SIM_RESUME_FAIL=garble"), warm.Options{ResumeTimeout: 3 * time.Second})
	st, err = w.start(garbled, spec, "1", "job2")
	if err != nil || st.Warm || st.Fallback == nil {
		t.Fatalf("garbled resume: err %v started %+v", err, st)
	}
	runGuest(t, st.Transport, "true")
	// Two failures in a row: no more builds of this spec.
	if _, err := w.m.Build(ctxT(t, time.Minute), spec, "1", warm.BuildOptions{}); !errors.Is(err, warm.ErrDisabled) {
		t.Fatalf("build after 2 failed resumes: %v, want ErrDisabled", err)
	}
}

func TestRebuildOnDigestAndSizeChange(t *testing.T) {
	w := newWorld(t, warm.Options{})
	old := warm.Spec{Image: macImage, Digest: "sha256:aaaa"}
	s1 := w.build(old, "1")
	newer := warm.Spec{Image: macImage, Digest: "sha256:bbbb"}
	if _, err := w.m.Lookup(ctxT(t, 30*time.Second), newer, "1"); !isNoSnapshot(err) {
		t.Fatalf("a snapshot of the old digest was offered for the new one: %v", err)
	}
	s2 := w.build(newer, "1")
	if s1.Name == s2.Name {
		t.Fatal("same snapshot name for two digests")
	}
	names := w.names()
	if slices.Contains(names, s1.Name+"=suspended") || !slices.Contains(names, s2.Name+"=suspended") {
		t.Fatalf("after the rebuild: %v", names)
	}
	bigger := newer
	bigger.CPU = 6
	if _, err := w.m.Lookup(ctxT(t, 30*time.Second), bigger, "1"); !isNoSnapshot(err) {
		t.Fatalf("a 4-CPU snapshot offered for a 6-CPU spec: %v", err)
	}
	s3 := w.build(bigger, "1")
	if s3.CPU != 6 {
		t.Fatalf("snapshot CPU %d", s3.CPU)
	}
	withScript := bigger
	withScript.WarmUp = "echo warmed > \"$HOME/warmed\"\n"
	if withScript.Key() == bigger.Key() {
		t.Fatal("the warm-up script is not part of the key")
	}
	s4 := w.build(withScript, "1")
	st, err := w.start(w.m, withScript, "1", "job")
	if err != nil || !st.Warm {
		t.Fatalf("start: %v %+v", err, st)
	}
	if out := runGuest(t, st.Transport, `cat "$HOME/warmed"`); strings.TrimSpace(out) != "warmed" {
		t.Fatalf("warm-up effect missing in the resumed guest: %q", out)
	}
	snaps, _ := w.m.Snapshots()
	if len(snaps) != 1 || snaps[0].Name != s4.Name {
		t.Fatalf("slot 1 should keep one snapshot of the image, has %+v", snaps)
	}
}

func TestEvictionByBudget(t *testing.T) {
	// A macOS snapshot costs 9 GB here (8192 MiB of saved memory, sparse disk).
	w := newWorld(t, warm.Options{BudgetGB: 20})
	spec := w.spec()
	s1 := w.build(spec, "1")
	s2 := w.build(spec, "2")
	if _, err := w.start(w.m, spec, "1", "job"); err != nil { // slot 1 is now the most recently used
		t.Fatal(err)
	}
	s3 := w.build(spec, "3")
	snaps, _ := w.m.Snapshots()
	var got []string
	for _, s := range snaps {
		got = append(got, s.Name)
	}
	if !slices.Equal(got, []string{s1.Name, s3.Name}) {
		t.Fatalf("after eviction %v, want %v (the least recently used %s evicted)", got, []string{s1.Name, s3.Name}, s2.Name)
	}
	if slices.Contains(w.names(), s2.Name+"=suspended") {
		t.Fatal("evicted snapshot VM still exists")
	}
	tiny := w.manager(w.c, warm.Options{BudgetGB: 5})
	if _, err := tiny.Build(ctxT(t, time.Minute), spec, "4", warm.BuildOptions{}); !errors.Is(err, warm.ErrOverBudget) {
		t.Fatalf("a snapshot larger than the budget: %v", err)
	}
}

func TestLinuxImagesBootCold(t *testing.T) {
	w := newWorld(t, warm.Options{})
	spec := warm.Spec{Image: linuxImage}
	if _, err := w.m.Build(ctxT(t, time.Minute), spec, "1", warm.BuildOptions{}); !errors.Is(err, warm.ErrNotMacOS) {
		t.Fatalf("linux build: %v", err)
	}
	if _, err := w.m.Build(ctxT(t, time.Minute), spec, "1", warm.BuildOptions{}); !errors.Is(err, warm.ErrNotMacOS) {
		t.Fatalf("second linux build: %v", err)
	}
	st, err := w.start(w.m, spec, "1", "job")
	if err != nil || st.Warm || st.Fallback != nil {
		t.Fatalf("linux start: %v %+v", err, st)
	}
	for _, n := range w.names() {
		if strings.HasPrefix(n, warm.Prefix) {
			t.Fatalf("left %s", n)
		}
	}
}

func TestBuildGivesSlotUpToWaitingJob(t *testing.T) {
	w := newWorld(t, warm.Options{}, "TART_SIM_IP_DELAY=30s")
	errc := make(chan error, 1)
	go func() {
		_, err := w.m.Build(ctxT(t, time.Minute), w.spec(), "1", warm.BuildOptions{Preempt: w.m.Waiting})
		errc <- err
	}()
	waitFor(t, 30*time.Second, "the build VM running", func() bool { return hasRunning(w.names(), "tartan-warm-build-") })
	d, err := w.m.Want()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Release()
	start := time.Now()
	select {
	case err := <-errc:
		if !errors.Is(err, warm.ErrPreempted) {
			t.Fatalf("build: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("build kept its slot while a job waited")
	}
	t.Logf("build gave the slot up %s after the demand", time.Since(start).Round(time.Millisecond))
	for _, n := range w.names() {
		if strings.HasPrefix(n, warm.Prefix) {
			t.Fatalf("preempted build left %s", n)
		}
	}
	d.Release()
	if w.m.Waiting() {
		t.Fatal("released demand still counts")
	}
}

func hasRunning(names []string, prefix string) bool {
	for _, n := range names {
		if strings.HasPrefix(n, prefix) && strings.HasSuffix(n, "=running") {
			return true
		}
	}
	return false
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The builder process is killed while its build VM boots: the half-built
// VM is never offered, Sweep removes it (stopping its orphaned tart run),
// and the next build works.
func TestCrashDuringBuildLeavesNothingUsed(t *testing.T) {
	w := newWorld(t, warm.Options{})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), builderEnv+"=1", "WARM_TEST_HOME="+w.home, "WARM_TEST_DIR="+w.dir, "WARM_TEST_SIM="+simBin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	waitFor(t, 30*time.Second, "the build VM running", func() bool { return hasRunning(w.names(), "tartan-warm-build-") })
	_ = cmd.Process.Kill()
	<-done
	spec := w.spec()
	if _, err := w.m.Lookup(ctxT(t, 30*time.Second), spec, "1"); !isNoSnapshot(err) {
		t.Fatalf("half-built snapshot offered: %v", err)
	}
	// A job in the slot meanwhile boots cold.
	st, err := w.start(w.m, spec, "1", "job")
	if err != nil || st.Warm {
		t.Fatalf("start after a crashed build: %v %+v", err, st)
	}
	gone, err := w.m.Sweep(ctxT(t, time.Minute), warm.SweepOptions{})
	if err != nil || len(gone) != 1 || !strings.HasPrefix(gone[0], "tartan-warm-build-") {
		t.Fatalf("sweep: %v %v", gone, err)
	}
	for _, n := range w.names() {
		if strings.HasPrefix(n, warm.Prefix) {
			t.Fatalf("sweep left %s", n)
		}
	}
	w.build(spec, "1")
	if _, err := w.m.Lookup(ctxT(t, 30*time.Second), spec, "1"); err != nil {
		t.Fatal(err)
	}
}

const builderEnv = "WARM_TEST_BUILDER"

// runBuilder is the child of TestCrashDuringBuildLeavesNothingUsed: a
// build whose guest takes a minute to boot.
func runBuilder() int {
	c, err := tart.New(tart.Options{Binary: os.Getenv("WARM_TEST_SIM"), Home: os.Getenv("WARM_TEST_HOME"), NoAutoPrune: true,
		Env: []string{"TART_SIM_IP_DELAY=60s"}})
	if err != nil {
		return 2
	}
	m, err := warm.New(warm.Options{Tart: c, Dir: os.Getenv("WARM_TEST_DIR"), Connect: connectFor(c)})
	if err != nil {
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := m.Build(ctx, warm.Spec{Image: macImage}, "1", warm.BuildOptions{}); err != nil {
		return 1
	}
	return 0
}

// A tool's own configure code sizes the snapshot, and its inputs key it.
func TestBuildUsesTheToolsConfigure(t *testing.T) {
	w := newWorld(t, warm.Options{})
	spec := warm.Spec{Image: macImage, ConfigKey: "cpu=6", Configure: func(ctx context.Context, vm string) error {
		return w.c.Set(ctx, vm, tart.SetOptions{CPU: 6})
	}}
	if spec.Key() == w.spec().Key() {
		t.Fatal("ConfigKey is not part of the key")
	}
	snap := w.build(spec, "1")
	if snap.CPU != 6 {
		t.Fatalf("snapshot has %d CPUs, want the 6 the tool's configure set", snap.CPU)
	}
}

func TestSweepUnusedAndForeignImages(t *testing.T) {
	w := newWorld(t, warm.Options{})
	a := w.build(warm.Spec{Image: macImage, Digest: "sha256:aaaa"}, "1")
	b := w.build(warm.Spec{Image: macImage, Digest: "sha256:aaaa", CPU: 6}, "2")
	// Nothing selected: both stay.
	if gone, err := w.m.Sweep(ctxT(t, time.Minute), warm.SweepOptions{UnusedFor: time.Hour, Images: []string{macImage}}); err != nil || len(gone) != 0 {
		t.Fatalf("sweep of fresh snapshots: %v %v", gone, err)
	}
	// A day later, unused for more than an hour: both go.
	later := w.manager(w.c, warm.Options{Now: func() time.Time { return time.Now().Add(24 * time.Hour) }})
	gone, err := later.Sweep(ctxT(t, time.Minute), warm.SweepOptions{UnusedFor: time.Hour})
	if err != nil || !slices.Contains(gone, a.Name) || !slices.Contains(gone, b.Name) {
		t.Fatalf("sweep of unused snapshots: %v %v", gone, err)
	}
	// Snapshots of an image no longer in use go too.
	c := w.build(warm.Spec{Image: macImage, Digest: "sha256:bbbb"}, "1")
	gone, err = w.m.Sweep(ctxT(t, time.Minute), warm.SweepOptions{Images: []string{"ghcr.io/acme/other:1"}})
	if err != nil || !slices.Equal(gone, []string{c.Name}) {
		t.Fatalf("sweep of a foreign image: %v %v", gone, err)
	}
	if snaps, _ := w.m.Snapshots(); len(snaps) != 0 {
		t.Fatalf("left %+v", snaps)
	}
}

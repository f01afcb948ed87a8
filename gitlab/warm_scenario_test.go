package gitlab_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestScenarioWarmStart: with warm_start on, the first macOS job boots
// cold and its cleanup builds its slot's snapshot in a detached process;
// the next job resumes it; a resume that fails boots cold in the same
// prepare. Leftover snapshots are removed at the end.
func TestScenarioWarmStart(t *testing.T) {
	h := newSimHost(t)
	warmDir := t.TempDir()
	settings := h.settings("warm_start = true", fmt.Sprintf("warm_dir = %q", warmDir))
	r := h.runner(settings)
	t.Cleanup(func() { h.dropSnapshots(warmDir) }) // before checkNoVMsLeft (cleanups run last-in first)

	res := h.run(r, newJob("echo one"))
	if res.Status != "success" {
		t.Fatalf("first job: %s\n%s\n%s", res.Status, res.Log, res.RunnerLog)
	}
	mustContain(t, res.Log, "booted in")
	snap := h.waitSnapshot(warmDir)

	res = h.run(r, newJob("echo two"))
	if res.Status != "success" {
		t.Fatalf("warm job: %s\n%s\n%s", res.Status, res.Log, res.RunnerLog)
	}
	mustContain(t, res.Log, "resumed from snapshot "+snap, "two")
	h.waitBuilders()

	refuse := h.runner(settings)
	refuse.Env = append(append([]string{}, h.env...), "TART_SIM_RESUME_FAIL=refuse")
	res = h.run(refuse, newJob("echo three"))
	if res.Status != "success" {
		t.Fatalf("job after a failed resume: %s\n%s\n%s", res.Status, res.Log, res.RunnerLog)
	}
	mustContain(t, res.Log, "Warm start failed, booted cold", "failed to restore", "three")
	h.waitBuilders()
}

// waitSnapshot waits for slot 1's snapshot built after a job.
func (h *simHost) waitSnapshot(warmDir string) string {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		for _, vm := range h.vms() {
			if strings.HasPrefix(vm.Name, "tartan-warm-1-") && vm.State == "suspended" {
				if _, err := os.Stat(filepath.Join(warmDir, "snapshots", vm.Name+".json")); err == nil {
					return vm.Name
				}
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(warmDir, "logs", "gitlab-build.log"))
			h.t.Fatalf("no snapshot after 60 s; build log:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitBuilders waits (bounded) until no detached warm-build process runs.
func (h *simHost) waitBuilders() {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		busy := false
		for _, p := range h.processesOfHost() {
			if strings.Contains(p, " warm-build ") {
				busy = true
			}
		}
		if !busy {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatal("warm-build still running after 60 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (h *simHost) dropSnapshots(warmDir string) {
	h.waitBuilders()
	for _, vm := range h.vms() {
		if strings.HasPrefix(vm.Name, "tartan-warm-") {
			_, _ = h.tart("stop", "--timeout", "1", vm.Name)
			_, _ = h.tart("delete", vm.Name)
		}
	}
}

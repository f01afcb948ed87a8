package gitlab_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// A fake host-cached gitlab-runner binary is shared into the guest and
// installed there, matched to the host runner's version (CI_RUNNER_VERSION).
func TestScenarioGuestRunnerFromHostCache(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	cache := t.TempDir()
	bin := filepath.Join(cache, "17.9.0", "gitlab-runner-darwin-"+runtime.GOARCH)
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho 'Version:      17.9.0'\necho 'Git revision: fake'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	guestBin := filepath.Join(h.guest, "bin")
	settings := h.settings(
		`guest_runner = "install"`,
		fmt.Sprintf("guest_runner_cache = %q", cache),
		fmt.Sprintf("guest_runner_path = %q", filepath.Join(guestBin, "gitlab-runner")),
	)
	forced, _ := os.ReadFile(settings)
	if err := os.WriteFile(settings+"-force", append(forced, []byte("guest_runner_force = true\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	job := newJob("echo built > result.txt")
	job.ArtifactPaths = []string{"result.txt"}
	job.Variables = map[string]string{"PATH": guestBin + ":/usr/bin:/bin"}
	res := h.run(h.runner(settings), job)
	if res.Status != "success" {
		t.Fatalf("status %s; log:\n%s", res.Status, res.Log)
	}
	mustContain(t, res.Log, "Installed gitlab-runner 17.9.0 from the host cache", "Uploading artifacts with Version:      17.9.0")

	// The simulated guest's disk is the host's, so the binary installed
	// above is still there: it is kept, unless a reinstall is forced.
	t.Run("already installed", func(t *testing.T) {
		res := h.run(h.runner(settings), newJob("true"))
		mustContain(t, res.Log, "gitlab-runner 17.9.0 already in the guest")
		forced := h.run(h.runner(settings+"-force"), newJob("true"))
		mustContain(t, forced.Log, "Installed gitlab-runner 17.9.0 from the host cache")
	})

	t.Run("missing from the cache", func(t *testing.T) {
		job := newJob("echo built > result.txt")
		job.ArtifactPaths = []string{"result.txt"}
		job.RunnerVersion = "18.0.1"
		job.Variables = map[string]string{"PATH": filepath.Join(h.guest, "nothing-here") + ":/usr/bin:/bin"}
		res := h.run(h.runner(settings), job)
		if res.Status != "success" {
			t.Fatalf("status %s; log:\n%s", res.Status, res.Log)
		}
		mustContain(t, res.Log, "gitlab-runner 18.0.1", "is not in the host cache", "artifacts and caches will not work", "Missing gitlab-runner. Uploading artifacts is disabled.")
		if strings.Contains(res.Log, "Installed gitlab-runner") {
			t.Errorf("installed a version that is not in the cache")
		}
	})
}

// Linux guests count against their own limit, not the macOS slots: with
// the only macOS slot busy, a Linux job starts at once.
func TestScenarioLinuxGuestOwnLimit(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	settings := h.settings(`macos_limit = 1`, `linux_limit = 1`, `shell = "sh"`)
	mac := newJob(`echo "mac-holds-slot-$((1+1))"`, "sleep 3")
	holding := make(chan struct{})
	var once sync.Once
	mac.Log = writerFunc(func(p []byte) {
		if strings.Contains(string(p), "mac-holds-slot-2") {
			once.Do(func() { close(holding) })
		}
	})
	done := make(chan struct{})
	go func() { defer close(done); h.run(h.runner(settings), mac) }()
	select {
	case <-holding:
	case <-time.After(60 * time.Second):
		t.Fatal("the macOS job did not start")
	}
	job := newJob("uname -s", "echo linux guest ok")
	job.Image = linuxImage
	res := h.run(h.runner(settings), job)
	<-done
	if res.Status != "success" {
		t.Fatalf("status %s; log:\n%s", res.Status, res.Log)
	}
	mustContain(t, res.Log, "(Linux,", "linux guest ok")
	if strings.Contains(res.Log, "Waiting for a free") {
		t.Errorf("the Linux job waited for a slot:\n%s", res.Log)
	}
	if res.Config["shell"] != "sh" {
		t.Errorf("config shell = %v, want sh", res.Config["shell"])
	}
}

package gitlab_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tartanhq/tartan/gitlab/harness"
)

// childRunnerEnv makes the test binary act as a gitlab-runner process
// running one job (so a test can SIGKILL "the runner").
const childRunnerEnv = "TARTAN_GITLAB_TEST_CHILD_RUNNER"

type childSpec struct {
	Executor string
	Settings string
	Env      []string
	TempRoot string
	JobID    int64
	Script   []string
}

// childRunner runs the job of spec, printing the job log and one
// "STAGE <name> <pid>" line per executor process on stdout.
func childRunner(spec string) int {
	var cs childSpec
	if err := json.Unmarshal([]byte(spec), &cs); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	args := func(stage string) []string { return []string{stage, "--config", cs.Settings} }
	r := &harness.Runner{
		Executor: cs.Executor, ConfigArgs: args("config"), PrepareArgs: args("prepare"),
		RunArgs: args("run"), CleanupArgs: args("cleanup"), Env: cs.Env, TempRoot: cs.TempRoot,
		OnStart: func(stage string, pid int) { fmt.Printf("STAGE %s %d\n", stage, pid) },
	}
	job := harness.Job{ID: cs.JobID, Image: macImage, Script: cs.Script, Log: os.Stdout}
	if _, err := r.Run(context.Background(), job); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func TestScenarioRunnerKilledOrphanSwept(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	// One macOS slot: the orphan holds it until it is swept.
	settings := h.settings(`macos_limit = 1`, `orphan_age = "0s"`)

	orphan := newJob()
	spec, _ := json.Marshal(childSpec{
		Executor: h.executor, Settings: settings, Env: h.env, TempRoot: t.TempDir(), JobID: orphan.ID,
		Script: []string{`echo "orphan-running-$((2*3))"`, "sleep 60"},
	})
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childRunnerEnv+"="+string(spec))
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	// Read the child's log until the script runs, noting the run stage PID.
	runPID := 0
	lines := bufio.NewScanner(stdout)
	found := make(chan bool, 1)
	go func() {
		ok := false
		for lines.Scan() {
			l := lines.Text()
			var stage string
			var pid int
			if n, _ := fmt.Sscanf(l, "STAGE %s %d", &stage, &pid); n == 2 && stage == "run:build_script" {
				runPID = pid
			}
			if strings.Contains(l, "orphan-running-6") && !ok {
				ok = true
				found <- true
			}
		}
		if !ok {
			found <- false
		}
	}()
	select {
	case ok := <-found:
		if !ok {
			t.Fatal("the child runner ended before its script ran")
		}
	case <-time.After(60 * time.Second):
		_ = child.Process.Kill()
		t.Fatal("the child runner's job did not start within 60s")
	}
	// The runner dies hard: no cleanup_exec ever comes.
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	if runPID == 0 {
		t.Fatal("no run stage PID seen")
	}
	t.Cleanup(func() { _ = syscall.Kill(runPID, syscall.SIGKILL) })

	// The next job's prepare finds the orphan (runner gone) and deletes it,
	// which also frees the only slot.
	next := newJob("echo next job runs")
	res := h.run(h.runner(settings), next)
	if res.Status != "success" {
		t.Fatalf("next job: %s (%s); log:\n%s", res.Status, res.FailureReason, res.Log)
	}
	mustContain(t, res.Log, "Deleted orphaned VM "+vmOf(orphan), "runner pid", "next job runs")
	if strings.Contains(res.Log, "Waiting for a free macos VM slot") {
		t.Errorf("the orphan's slot was not freed by the sweep")
	}
	// The orphaned run stage loses its guest and exits on its own.
	deadline := time.Now().Add(30 * time.Second)
	for syscall.Kill(runPID, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the orphaned run stage (pid %d) still runs 30s after its VM was deleted", runPID)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A live job's VM is never swept, even with orphan_age 0 and the executor
// wrapped in a shell by the admin (the shell is not the owner: the runner
// behind it is).
func TestScenarioLiveJobNotSwept(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	settings := h.settings(`orphan_age = "0s"`)
	r := h.runner(settings)
	wrapper := filepath.Join(t.TempDir(), "wrapped-executor")
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\n\""+h.executor+"\" \"$@\"\nexit $?\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.Executor = wrapper

	long := newJob(`echo "long-job-running-$((3*3))"`, "sleep 3", "echo long job survived")
	started := make(chan struct{})
	var once sync.Once
	long.Log = writerFunc(func(p []byte) {
		if strings.Contains(string(p), "long-job-running-9") {
			once.Do(func() { close(started) })
		}
	})
	var longRes *harness.Result
	done := make(chan struct{})
	go func() { defer close(done); longRes = h.run(r, long) }()
	select {
	case <-started:
	case <-time.After(60 * time.Second):
		t.Fatal("long job did not start")
	}
	// Another job's prepare sweeps while the long job runs.
	other := h.run(r, newJob("echo other"))
	<-done
	if other.Status != "success" || longRes.Status != "success" {
		t.Fatalf("other %s, long %s; long log:\n%s\nother log:\n%s", other.Status, longRes.Status, longRes.Log, other.Log)
	}
	if strings.Contains(other.Log, "Deleted orphaned VM") {
		t.Errorf("a live job's VM was swept:\n%s", other.Log)
	}
	mustContain(t, longRes.Log, "long job survived")
}

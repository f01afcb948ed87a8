package gitlab_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tartanhq/tartan/gitlab/harness"
	"github.com/tartanhq/tartan/internal/testenv"
)

// macImage and linuxImage are tart-sim's built-in images.
const (
	macImage   = "ghcr.io/cirruslabs/macos-sequoia-base:latest"
	linuxImage = "ghcr.io/cirruslabs/ubuntu:latest"
)

// simHost is one simulated Mac: a TART_HOME, a slots dir and a state dir
// shared by every runner of the test.
type simHost struct {
	t        testing.TB
	tartSim  string
	executor string
	home     string
	slots    string
	state    string
	guest    string // guest-side paths (the sim guest sees the host fs)
	env      []string
}

var jobIDs atomic.Int64

func init() { jobIDs.Store(time.Now().UnixNano() % 1_000_000 * 1000) }

// newSimHost prepares a simulated host with zero boot delays.
func newSimHost(t *testing.T, knobs ...string) *simHost { return newSimHostTB(t, knobs...) }

// newSimHostB is newSimHost for benchmarks.
func newSimHostB(b *testing.B, knobs ...string) *simHost { return newSimHostTB(b, knobs...) }

func newSimHostTB(t testing.TB, knobs ...string) *simHost {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("tart-sim VMs listen on 127.x.y.z:22: run as root")
	}
	root := t.TempDir()
	h := &simHost{
		t:        t,
		tartSim:  testenv.TartSim(t),
		executor: testenv.Binary(t, "gitlab-tart-executor"),
		home:     filepath.Join(root, "tart"),
		slots:    filepath.Join(root, "slots"),
		state:    filepath.Join(root, "state"),
	}
	// Guest paths must not be under /tmp (a symlink on macOS, refused by
	// the settings); the sim guest sees the host's filesystem.
	guestRoot, err := os.MkdirTemp("/var/tmp", "tartan-gl-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(guestRoot) })
	h.guest = guestRoot
	h.env = append(os.Environ(),
		"TART_HOME="+h.home,
		"TART_SIM_IP_DELAY=0s",
		"TART_SIM_SSH_DELAY=0s",
	)
	h.env = append(h.env, knobs...)
	t.Cleanup(h.checkNoVMsLeft)
	return h
}

// settings writes a TOML settings file: the host's paths plus extra lines.
func (h *simHost) settings(extra ...string) string {
	lines := []string{
		fmt.Sprintf("tart_binary = %q", h.tartSim),
		fmt.Sprintf("slots_dir = %q", h.slots),
		fmt.Sprintf("state_dir = %q", h.state),
		fmt.Sprintf("guest_builds_dir = %q", filepath.Join(h.guest, "builds")),
		fmt.Sprintf("guest_cache_dir = %q", filepath.Join(h.guest, "cache")),
		`ip_timeout = "20s"`,
		`ready_timeout = "20s"`,
		`slot_timeout = "60s"`,
		`cancel_grace = "5s"`,
	}
	// Extra lines replace defaults with the same key.
	for _, e := range extra {
		key, _, _ := strings.Cut(e, "=")
		replaced := false
		for i, l := range lines {
			if k, _, _ := strings.Cut(l, "="); strings.TrimSpace(k) == strings.TrimSpace(key) {
				lines[i], replaced = e, true
			}
		}
		if !replaced {
			lines = append(lines, e)
		}
	}
	f, err := os.CreateTemp(h.t.TempDir(), "settings-*.toml")
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := f.WriteString(strings.Join(lines, "\n") + "\n"); err != nil {
		h.t.Fatal(err)
	}
	f.Close()
	return f.Name()
}

// runner is a gitlab-runner [[runners]] section using the executor.
func (h *simHost) runner(settingsFile string) *harness.Runner {
	args := func(stage string) []string { return []string{stage, "--config", settingsFile} }
	return &harness.Runner{
		Executor:            h.executor,
		ConfigArgs:          args("config"),
		PrepareArgs:         args("prepare"),
		RunArgs:             args("run"),
		CleanupArgs:         args("cleanup"),
		Env:                 h.env,
		GracefulKillTimeout: 20 * time.Second,
		ForceKillTimeout:    5 * time.Second,
		PrepareRetryDelay:   200 * time.Millisecond,
		PrepareExecTimeout:  90 * time.Second,
		CleanupExecTimeout:  60 * time.Second,
		TempRoot:            h.t.TempDir(),
	}
}

func newJob(script ...string) harness.Job {
	return harness.Job{ID: jobIDs.Add(1), Image: macImage, Script: script}
}

func (h *simHost) run(r *harness.Runner, job harness.Job) *harness.Result {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := r.Run(ctx, job)
	if err != nil {
		h.t.Fatalf("harness: %v", err)
	}
	return res
}

// tart runs the simulator as a tart CLI against the host's TART_HOME.
func (h *simHost) tart(args ...string) (string, error) {
	cmd := exec.Command(h.tartSim, args...)
	// The executor gives tart a stable TMPDIR under its state dir.
	cmd.Env = append(append([]string{}, h.env...), "TMPDIR="+filepath.Join(h.state, "tmp"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// vms lists the host's local VMs.
func (h *simHost) vms() []struct {
	Name  string
	State string
} {
	h.t.Helper()
	out, err := h.tart("list", "--source", "local", "--format", "json")
	if err != nil {
		h.t.Fatalf("tart list: %v\n%s", err, out)
	}
	var vms []struct {
		Name  string
		State string
	}
	if err := json.Unmarshal([]byte(out), &vms); err != nil {
		h.t.Fatalf("tart list: %v\n%s", err, out)
	}
	return vms
}

// processesOfHost lists live processes started for this simulated host
// (their environment carries its TART_HOME): tart run, guests, stages.
func (h *simHost) processesOfHost() []string {
	var out []string
	dirs, _ := os.ReadDir("/proc")
	needle := []byte("TART_HOME=" + h.home + "\x00")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err != nil || !bytes.Contains(env, needle) {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if f := strings.Fields(string(stat)); len(f) > 2 && f[2] == "Z" {
			continue // exited, waiting to be reaped by its parent
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		out = append(out, fmt.Sprintf("%d %s", pid, bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))
	}
	return out
}

// checkNoVMsLeft fails the test if a VM or a process of this host
// survived, then removes it.
func (h *simHost) checkNoVMsLeft() {
	if h.t.Skipped() {
		return
	}
	deadline := time.Now().Add(15 * time.Second)
	for procs := h.processesOfHost(); len(procs) > 0; procs = h.processesOfHost() {
		if time.Now().After(deadline) {
			h.t.Errorf("processes leaked: %v", procs)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, vm := range h.vms() {
		h.t.Errorf("VM %s (%s) leaked", vm.Name, vm.State)
		_, _ = h.tart("stop", "--timeout", "1", vm.Name)
		_, _ = h.tart("delete", vm.Name)
	}
}

func mustContain(t *testing.T, log string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(log, w) {
			t.Errorf("job log lacks %q; log:\n%s", w, log)
		}
	}
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(childRunnerEnv); spec != "" {
		os.Exit(childRunner(spec))
	}
	code := m.Run()
	testenv.Cleanup()
	os.Exit(code)
}

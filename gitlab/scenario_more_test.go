package gitlab_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tartanhq/tartan/slots"
)

// Each wait of prepare is bounded and says which step timed out.
func TestScenarioBootTimeoutsNameTheStep(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		knobs []string
		step  string
	}{
		{"no IP", []string{"TART_SIM_NO_IP=1"}, `step "IP address": no IP after 1.0s (ip_timeout)`},
		{"no SSH", []string{"TART_SIM_SSH_REFUSE=1", "TART_SIM_NO_AGENT=1"}, `step "SSH or the guest agent": not reachable after 1.0s (ready_timeout)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newSimHost(t, tc.knobs...)
			r := h.runner(h.settings(`ip_timeout = "1s"`, `ready_timeout = "1s"`))
			r.PrepareAttempts = 1
			start := time.Now()
			res := h.run(r, newJob("echo unreachable"))
			if res.FailureReason != "runner_system_failure" {
				t.Fatalf("got %s/%s; log:\n%s", res.Status, res.FailureReason, res.Log)
			}
			mustContain(t, res.Log, "the VM did not become ready in time", tc.step)
			if tc.name == "no SSH" {
				// Both transports of `auto` and what they saw throughout.
				mustContain(t, res.Log, "guest agent: the guest agent does not answer for", "SSH 127.", "attempts)")
				for _, cut := range []string{"i/o timeout", "deadline exceeded", "attempt(s) in 0s"} {
					if strings.Contains(res.Log, cut) {
						t.Errorf("the log reports the attempt cut by the deadline (%q):\n%s", cut, res.Log)
					}
				}
			}
			if took := time.Since(start); took > 15*time.Second {
				t.Errorf("took %s", took)
			}
		})
	}
}

// A leftover VM of the same job (a prepare retry after a crash) is replaced.
func TestScenarioPrepareReplacesLeftoverVM(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	job := newJob("echo fresh VM")
	if out, err := h.tart("clone", macImage, vmOf(job)); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	res := h.run(h.runner(h.settings()), job)
	if res.Status != "success" {
		t.Fatalf("status %s; log:\n%s", res.Status, res.Log)
	}
	mustContain(t, res.Log, "Replaced the leftover VM "+vmOf(job), "fresh VM")
}

// keep_failed_vm keeps the VM of a failed job (stopped), never after a
// cancel, and the sweeper deletes it once keep_failed_for has passed.
func TestScenarioKeepFailedVM(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	r := h.runner(h.settings(`keep_failed_vm = true`, `keep_failed_for = "0s"`, `orphan_age = "1h"`))

	failed := newJob("exit 4")
	res := h.run(r, failed)
	if res.ExitCode != 4 {
		t.Fatalf("exit %d; log:\n%s", res.ExitCode, res.Log)
	}
	mustContain(t, res.RunnerLog, "Kept VM "+vmOf(failed))
	vms := h.vms()
	if len(vms) != 1 || vms[0].Name != vmOf(failed) || vms[0].State != "stopped" {
		t.Fatalf("after a failed job: %+v", vms)
	}

	canceled := newJob("echo cancel-now-$((3+4))", "sleep 30")
	canceled.CancelWhenLog = "cancel-now-7"
	res = h.run(r, canceled)
	if res.Status != "canceled" {
		t.Fatalf("status %s; log:\n%s", res.Status, res.Log)
	}
	// The canceled job's VM is gone; its prepare swept the expired kept VM.
	mustContain(t, res.Log, "Deleted orphaned VM "+vmOf(failed), "kept for debugging until")
	if vms := h.vms(); len(vms) != 0 {
		t.Errorf("VMs left: %+v", vms)
	}
	if strings.Contains(res.RunnerLog, "Kept VM") {
		t.Errorf("a canceled job's VM was kept")
	}
}

// When the guest agent dies between stages, later stages fall back to SSH.
func TestScenarioAgentDiesFallsBackToSSH(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	job := newJob(`echo "build over $([ -n "$SSH_CONNECTION" ] && echo ssh || echo agent)"`)
	job.AfterScript = []string{`echo "after_script over $([ -n "$SSH_CONNECTION" ] && echo ssh || echo agent)"`}
	r := h.runner(h.settings())
	r.BeforeStart = func(stage string) {
		if stage == "run:after_script" {
			if out, err := h.tart("sim", "fault", vmOf(job), "kill-agent"); err != nil {
				t.Errorf("tart sim fault: %v\n%s", err, out)
			}
		}
	}
	res := h.run(r, job)
	if res.Status != "success" {
		t.Fatalf("status %s; log:\n%s", res.Status, res.Log)
	}
	mustContain(t, res.Log, "over the Tart guest agent", "build over agent", "The guest agent does not answer", "after_script over ssh")
}

// sshd and the guest agent start at about the same time; an agent that
// answers a moment after sshd must still carry the job (the executor used to
// settle on SSH for the whole job when the first agent probe lost that race).
func TestScenarioAgentStartingJustAfterSSHIsUsed(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	// A tart whose first `tart exec` finds no agent yet.
	wrapper := filepath.Join(t.TempDir(), "tart")
	script := "#!/bin/sh\nif [ \"$1\" = exec ] && mkdir \"$(dirname \"$0\")/probed\" 2>/dev/null; then\n" +
		"  echo 'Error: Failed to connect to the VM using its control socket: connect(2) failed: No such file or directory, is the Tart Guest Agent running?' >&2\n  exit 1\nfi\n" +
		"exec " + h.tartSim + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	job := newJob(`echo "build over $([ -n "$SSH_CONNECTION" ] && echo ssh || echo agent)"`)
	res := h.run(h.runner(h.settings(fmt.Sprintf("tart_binary = %q", wrapper))), job)
	if res.Status != "success" {
		t.Fatalf("status %s; log:\n%s", res.Status, res.Log)
	}
	mustContain(t, res.Log, "Connected to the guest over the Tart guest agent", "build over agent")
}

// host_builds_dir = "per-job": a fresh host dir per job, not shared, removed
// at cleanup.
func TestScenarioPerJobBuildsDir(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	job := newJob(`echo data > file.txt`, `echo "in $PWD"`)
	res := h.run(h.runner(h.settings(`host_builds_dir = "per-job"`)), job)
	if res.Status != "success" {
		t.Fatalf("status %s; log:\n%s", res.Status, res.Log)
	}
	if shared, _ := res.Config["builds_dir_is_shared"].(bool); shared {
		t.Errorf("per-job builds dir declared shared")
	}
	mustContain(t, res.Log, "Host dir "+filepath.Join(h.state, "jobs", vmOf(job), "builds"))
	if _, err := os.Stat(filepath.Join(h.state, "jobs", vmOf(job))); !os.IsNotExist(err) {
		t.Errorf("per-job host dir not removed at cleanup: %v", err)
	}
}

// A script that ignores SIGTERM: the run stage gives up after cancel_grace,
// well within the runner's graceful timeout, and cleanup still works.
func TestScenarioCancelIgnoredByScript(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	r := h.runner(h.settings(`cancel_grace = "2s"`))
	job := newJob(`trap '' TERM`, `echo "stubborn-$((2+2))"`, "sleep 60")
	job.AfterScript = []string{"echo after $CI_JOB_STATUS"}
	job.CancelWhenLog = "stubborn-4"
	res := h.run(r, job)
	if res.Status != "canceled" {
		t.Fatalf("status %s; log:\n%s", res.Status, res.Log)
	}
	b := res.Stage("run:build_script")
	if len(b) != 1 || b[0].Abandoned || b[0].Duration > 12*time.Second {
		t.Fatalf("build_script %+v: want it to end on its own within cancel_grace", b)
	}
	mustContain(t, res.Log, "did not stop after SIGTERM within 2.0s (cancel_grace)", "after canceled")
}

// A job canceled while it waits for a VM slot stops waiting at once.
func TestScenarioCancelWhileWaitingForSlot(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	r := h.runner(h.settings(`macos_limit = 1`))
	holder := newJob(`echo "holding-slot-$((1+1))"`, "sleep 4")
	holding := make(chan struct{})
	var once sync.Once
	holder.Log = writerFunc(func(p []byte) {
		if strings.Contains(string(p), "holding-slot-2") {
			once.Do(func() { close(holding) })
		}
	})
	done := make(chan struct{})
	go func() { defer close(done); h.run(r, holder) }()
	select {
	case <-holding:
	case <-time.After(60 * time.Second):
		t.Fatal("holder did not start")
	}
	waiter := newJob("echo never runs")
	waiter.CancelWhenLog = "Waiting for a free macos VM slot"
	start := time.Now()
	res := h.run(r, waiter)
	<-done
	if res.Status != "canceled" {
		t.Fatalf("status %s; log:\n%s", res.Status, res.Log)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("canceling a waiting job took %s", took)
	}
	p := res.Stage("prepare")
	if len(p) != 1 || p[0].Abandoned {
		t.Errorf("prepare %+v", p)
	}
	mustContain(t, res.Log, "stopping prepare")
}

// Slots are shared with every other Tartan process on the host: a slot held
// by another process (here: this test, standing in for the Nomad driver)
// makes the job wait, with the holder named in the log, until it is freed.
func TestScenarioSlotHeldByAnotherTartanProcess(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	pool, err := slots.New(h.slots, map[slots.Kind]int{slots.KindMacOS: 1})
	if err != nil {
		t.Fatal(err)
	}
	held, err := pool.TryAcquire(slots.KindMacOS, slots.Holder{Owner: "nomad alloc 5f2c/task", VM: "nomad-task-vm"})
	if err != nil {
		t.Fatal(err)
	}
	job := newJob("echo got the slot")
	var once sync.Once
	job.Log = writerFunc(func(p []byte) {
		if strings.Contains(string(p), "Waiting for a free macos VM slot") {
			once.Do(func() { _ = held.Release() })
		}
	})
	res := h.run(h.runner(h.settings(`macos_limit = 1`)), job)
	_ = held.Release()
	if res.Status != "success" {
		t.Fatalf("status %s; log:\n%s", res.Status, res.Log)
	}
	mustContain(t, res.Log, "all 1 are busy (nomad-task-vm)", "Got macos VM slot 1", "got the slot")
}

// host_cache_dir is shared into every VM at guest_cache_dir: what one job
// leaves there, the next job (in a new VM) finds, and the host sees it.
func TestScenarioHostCacheDirPersists(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	hostCache := filepath.Join(t.TempDir(), "cache")
	r := h.runner(h.settings(fmt.Sprintf("host_cache_dir = %q", hostCache)))
	guestCache := filepath.Join(h.guest, "cache")
	first := h.run(r, newJob(fmt.Sprintf(`echo "cached by $CI_JOB_ID" > %q/marker`, guestCache)))
	second := h.run(r, newJob(fmt.Sprintf(`echo "found: $(cat %q/marker)"`, guestCache)))
	if first.Status != "success" || second.Status != "success" {
		t.Fatalf("%s / %s; logs:\n%s\n%s", first.Status, second.Status, first.Log, second.Log)
	}
	b, err := os.ReadFile(filepath.Join(hostCache, "marker"))
	if err != nil {
		t.Fatalf("host cache: %v", err)
	}
	mustContain(t, second.Log, "found: "+strings.TrimSpace(string(b)))
	if cd, _ := first.Config["cache_dir"].(string); cd != guestCache {
		t.Errorf("config cache_dir = %q, want %q", cd, guestCache)
	}
}

// The admin's VM settings reach `tart run` and `tart set`: Softnet with
// allow/block/expose, root disk options, an extra read-only volume, a
// random MAC per clone (two jobs of one image never share a MAC).
func TestScenarioVMSettingsReachTart(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	vol := t.TempDir()
	if err := os.WriteFile(filepath.Join(vol, "model.bin"), []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	guestVol := filepath.Join(h.guest, "models")
	r := h.runner(h.settings(
		`network = "softnet"`, `softnet_allow = ["10.0.0.0/8"]`, `softnet_block = ["10.9.0.0/16"]`, `softnet_expose = ["2222:22"]`,
		`root_disk_opts = "sync=none,caching=cached"`, `display = "1920x1200"`,
		fmt.Sprintf("volumes = [%q]", vol+":"+guestVol+":ro"),
	))
	macs := map[string]bool{}
	var mu sync.Mutex
	for range 2 {
		job := newJob(fmt.Sprintf("cat %q/model.bin", guestVol), fmt.Sprintf("if touch %q/x 2>/dev/null; then echo writable; else echo read-only; fi", guestVol))
		var info struct {
			MAC     string
			Options struct {
				Net struct {
					Mode, SoftnetAllow, SoftnetBlock, SoftnetExpose string
				}
				RootDisk   struct{ Sync, Caching string }
				NoGraphics bool
			}
		}
		r.BeforeStart = func(stage string) {
			if stage != "run:build_script" {
				return
			}
			b, err := os.ReadFile(filepath.Join(h.home, "vms", vmOf(job), "sim-run.json"))
			if err == nil {
				err = json.Unmarshal(b, &info)
			}
			if err != nil {
				t.Errorf("reading the VM's run info: %v", err)
			}
		}
		res := h.run(r, job)
		if res.Status != "success" {
			t.Fatalf("status %s; log:\n%s", res.Status, res.Log)
		}
		mustContain(t, res.Log, "weights", "read-only")
		n, d := info.Options.Net, info.Options.RootDisk
		if n.Mode != "softnet" || n.SoftnetAllow != "10.0.0.0/8" || n.SoftnetBlock != "10.9.0.0/16" || n.SoftnetExpose != "2222:22" {
			t.Errorf("tart run network: %+v", n)
		}
		if d.Sync != "none" || d.Caching != "cached" || !info.Options.NoGraphics {
			t.Errorf("tart run root disk %+v, no-graphics %v", d, info.Options.NoGraphics)
		}
		mu.Lock()
		if info.MAC == "" || macs[info.MAC] {
			t.Errorf("MAC %q not fresh (seen %v)", info.MAC, macs)
		}
		macs[info.MAC] = true
		mu.Unlock()
	}
}

// Pull and clone failures of the host are system failures (GitLab retries
// prepare) with tart's reason in the log.
func TestScenarioPullAndDiskFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		knob, want string
	}{
		{"TART_SIM_PULL_FAIL=1", "pulling " + macImage},
		{"TART_SIM_DISK_FULL=1", "out of disk space"},
	} {
		t.Run(tc.knob, func(t *testing.T) {
			t.Parallel()
			h := newSimHost(t, tc.knob)
			r := h.runner(h.settings())
			r.PrepareAttempts = 1
			res := h.run(r, newJob("echo never"))
			if res.FailureReason != "runner_system_failure" {
				t.Fatalf("got %s/%s; log:\n%s", res.Status, res.FailureReason, res.Log)
			}
			mustContain(t, res.Log, tc.want)
		})
	}
}

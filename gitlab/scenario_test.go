package gitlab_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tartanhq/tartan/gitlab"
	"github.com/tartanhq/tartan/gitlab/harness"
)

// vmOf is the VM name the executor derives for a harness job.
func vmOf(job harness.Job) string {
	// The harness's defaults for runner and server.
	return gitlab.VMName(&gitlab.Job{ID: fmt.Sprint(job.ID), ServerURL: "https://gitlab.example.com", RunnerShortToken: "t3stR0nr"})
}

func TestScenarioPassingJob(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	r := h.runner(h.settings())
	// The script waits (bounded) until the test has looked at the host's
	// processes, so the run stage is surely alive then.
	seen := filepath.Join(h.guest, "looked")
	job := newJob("echo hello from $(uname -s)",
		`i=0; while [ ! -e `+seen+` ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done`,
		`echo "shell is $BASH_VERSION"`)
	job.AfterScript = []string{"echo after $CI_JOB_STATUS"}
	// While the job runs, the leak check must see its processes (tart run,
	// the run stage): proof that it would catch a leak.
	var during []string
	var once sync.Once
	job.Log = writerFunc(func(p []byte) {
		if strings.Contains(string(p), "hello from") {
			once.Do(func() {
				during = h.processesOfHost()
				_ = os.WriteFile(seen, nil, 0o644)
			})
		}
	})
	res := h.run(r, job)
	if res.Status != "success" {
		t.Fatalf("status %s (%s), log:\n%s\nrunner log:\n%s", res.Status, res.FailureReason, res.Log, res.RunnerLog)
	}
	if len(during) < 2 {
		t.Errorf("leak check saw only %v while the job ran", during)
	}
	mustContain(t, res.Log, "Using Custom executor with driver tartan", "hello from", "shell is 5", "after success", "Running on ",
		"Pulled "+macImage, "Cloned "+macImage+" as VM "+vmOf(job), "booted in")
	mustContain(t, res.RunnerLog, "Deleted VM "+vmOf(job))
	if res.PrepareAttempts != 1 {
		t.Errorf("prepare attempts %d", res.PrepareAttempts)
	}
	if _, err := os.Stat(res.TempDir); !os.IsNotExist(err) {
		t.Errorf("per-job temp dir %s left behind", res.TempDir)
	}
	if files, _ := filepath.Glob(filepath.Join(h.state, "*", "*")); len(files) != 0 {
		t.Errorf("state left after cleanup: %v", files)
	}
}

func TestScenarioScriptExitCodeIsReported(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	r := h.runner(h.settings())
	job := newJob("echo before", "exit 3", "echo never")
	job.AfterScript = []string{"echo after $CI_JOB_STATUS"}
	res := h.run(r, job)
	if res.Status != "failed" || res.FailureReason != "script_failure" || res.ExitCode != 3 {
		t.Fatalf("got %s/%s/exit %d, want failed/script_failure/3; log:\n%s", res.Status, res.FailureReason, res.ExitCode, res.Log)
	}
	mustContain(t, res.Log, "before", "ERROR: Job failed: exit code 3", "after failed")
	if strings.Contains(res.Log, "\nnever") {
		t.Errorf("script went on after exit 3")
	}
}

func TestScenarioCancelMidScript(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	r := h.runner(h.settings())
	job := newJob(
		`trap 'echo "guest script got TERM"; exit 9' TERM`,
		`echo "script-started-$((40+2))"`,
		`while true; do sleep 0.1; done`,
	)
	job.AfterScript = []string{"echo after $CI_JOB_STATUS"}
	job.CancelWhenLog = "script-started-42"
	start := time.Now()
	res := h.run(r, job)
	if res.Status != "canceled" {
		t.Fatalf("status %s, want canceled; log:\n%s", res.Status, res.Log)
	}
	mustContain(t, res.Log, "Received SIGTERM: forwarding it to the build_script script", "guest script got TERM", "after canceled")
	build := res.Stage("run:build_script")
	if len(build) != 1 || !build[0].Signaled || build[0].Abandoned {
		t.Fatalf("build_script stage %+v: want signaled, ended without SIGKILL", build)
	}
	if build[0].Duration > 15*time.Second {
		t.Errorf("build_script took %s after SIGTERM", build[0].Duration)
	}
	if vms := h.vms(); len(vms) != 0 {
		t.Errorf("VMs after cleanup: %v", vms)
	}
	t.Logf("canceled job took %s", time.Since(start))
}

func TestScenarioVMDiesDuringBoot(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ dieAfter, step string }{
		{"100ms", "the VM stopped"},                    // dies while tart run starts
		{"1500ms", "while waiting for its IP address"}, // dies while prepare waits for the IP
	} {
		t.Run(tc.dieAfter, func(t *testing.T) {
			t.Parallel()
			// The guest never gets an IP, and the VM dies: prepare must fail
			// fast with the VM's log, not wait for ip_timeout (20s).
			h := newSimHost(t, "TART_SIM_IP_DELAY=60s", "TART_SIM_DIE_AFTER="+tc.dieAfter)
			r := h.runner(h.settings())
			start := time.Now()
			res := h.run(r, newJob("echo unreachable"))
			took := time.Since(start)
			if res.Status != "failed" || res.FailureReason != "runner_system_failure" {
				t.Fatalf("got %s/%s, want failed/runner_system_failure; log:\n%s", res.Status, res.FailureReason, res.Log)
			}
			if res.PrepareAttempts != 3 {
				t.Errorf("prepare attempts %d, want 3 (system failures are retried)", res.PrepareAttempts)
			}
			if took > 20*time.Second {
				t.Errorf("three prepare attempts took %s: the VM's death was not noticed early", took)
			}
			mustContain(t, res.Log, "the VM stopped", tc.step, "Last lines of tart run:", "guest has stopped the virtual machine")
		})
	}
}

// A tart run killed by a signal while prepare waits is reported with that
// signal, not as "exit code -1".
func TestScenarioTartRunKilledNamesSignal(t *testing.T) {
	t.Parallel()
	h := newSimHost(t, "TART_SIM_IP_DELAY=60s")
	r := h.runner(h.settings())
	r.PrepareAttempts = 1
	job := newJob("echo unreachable")
	var once sync.Once
	job.Log = writerFunc(func(p []byte) {
		if !strings.Contains(string(p), "Starting VM") {
			return
		}
		once.Do(func() {
			go func() {
				deadline := time.Now().Add(10 * time.Second)
				for time.Now().Before(deadline) {
					for _, p := range h.processesOfHost() {
						if f := strings.Fields(p); len(f) > 2 && f[2] == "run" {
							pid, _ := strconv.Atoi(f[0])
							_ = syscall.Kill(pid, syscall.SIGKILL)
							return
						}
					}
					time.Sleep(20 * time.Millisecond)
				}
			}()
		})
	})
	res := h.run(r, job)
	if res.FailureReason != "runner_system_failure" {
		t.Fatalf("got %s/%s; log:\n%s", res.Status, res.FailureReason, res.Log)
	}
	mustContain(t, res.Log, "killed by SIGKILL")
	if strings.Contains(res.Log, "exit code -1") || strings.Contains(res.Log, "exit -1") {
		t.Errorf("log says exit code -1:\n%s", res.Log)
	}
}

func TestScenarioSSHDropsMidScript(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	r := h.runner(h.settings(`transport = "ssh"`))
	job := newJob(`echo "ssh-drop-now-$((1+1))"`, "sleep 20.0173", "echo not reached")
	job.AfterScript = []string{`echo "after-script-$((2+2))"`}
	// When the script is running, cut every SSH connection of the VM.
	var once sync.Once
	var duringAfterScript []string
	job.Log = writerFunc(func(p []byte) {
		if strings.Contains(string(p), "after-script-4") {
			duringAfterScript = processesWith("20.0173")
		}
		if strings.Contains(string(p), "ssh-drop-now-2") {
			once.Do(func() {
				go func() {
					if out, err := h.tart("sim", "fault", vmOf(job), "drop-ssh"); err != nil && !strings.Contains(out, "not running") {
						t.Errorf("tart sim fault: %v\n%s", err, out)
					}
				}()
			})
		}
	})
	start := time.Now()
	res := h.run(r, job)
	if res.Status != "failed" || res.FailureReason != "runner_system_failure" {
		t.Fatalf("got %s/%s, want failed/runner_system_failure; log:\n%s", res.Status, res.FailureReason, res.Log)
	}
	mustContain(t, res.Log, "connection to the guest was lost during build_script")
	if took := time.Since(start); took > 18*time.Second {
		t.Errorf("job took %s: the lost connection was noticed late", took)
	}
	// Like sshd, the simulated guest does not kill a command whose
	// connection dropped: the script outlived its stage...
	if len(duringAfterScript) == 0 {
		t.Errorf("the dropped script was already gone during after_script (the simulator killed it)")
	}
	// ...and cleanup leaves nothing of it behind.
	if left := processesGone("20.0173"); len(left) > 0 {
		t.Errorf("guest processes left after cleanup: %v", left)
	}
}

// A script that ignores the forwarded SIGTERM is given up after
// cancel_grace and killed in the guest: no guest process outlives the job.
func TestScenarioCancelIgnoredTermLeavesNoGuestProcess(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	r := h.runner(h.settings(`transport = "ssh"`, `cancel_grace = "1s"`))
	job := newJob(`trap '' TERM`, `echo "ignore-term-$((3+3))"`, "sleep 30.0271")
	job.AfterScript = []string{"echo after $CI_JOB_STATUS"}
	job.CancelWhenLog = "ignore-term-6"
	res := h.run(r, job)
	if res.Status != "canceled" {
		t.Fatalf("status %s, want canceled; log:\n%s", res.Status, res.Log)
	}
	mustContain(t, res.Log, "Received SIGTERM: forwarding it to the build_script script", "after canceled")
	if left := processesGone("30.0271"); len(left) > 0 {
		t.Errorf("guest processes left after the job: %v", left)
	}
}

// processesGone waits (bounded) until no process matches marker and
// returns those still there.
func processesGone(marker string) []string {
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := processesWith(marker)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// processesWith lists live processes whose command line contains marker
// (guest commands run as host processes in the simulator).
func processesWith(marker string) []string {
	var out []string
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmd), marker) {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			continue
		}
		out = append(out, d.Name()+" "+strings.ReplaceAll(string(cmd), "\x00", " "))
	}
	return out
}

type writerFunc func(p []byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }

func TestScenarioThreeConcurrentMacOSJobs(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	r := h.runner(h.settings())
	var wg sync.WaitGroup
	results := make([]*harness.Result, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			job := newJob("sleep 3", "echo job done")
			job.ConcurrentID = i
			results[i] = h.run(r, job)
		}()
	}
	wg.Wait()
	waited := 0
	for i, res := range results {
		if res.Status != "success" {
			t.Errorf("job %d: %s (%s); log:\n%s", i, res.Status, res.FailureReason, res.Log)
		}
		if strings.Contains(res.Log, "Waiting for a free macos VM slot: all 2 are busy") {
			waited++
			mustContain(t, res.Log, "Got macos VM slot")
		}
	}
	if waited != 1 {
		t.Errorf("%d jobs waited for a slot, want exactly 1", waited)
	}
}

func TestScenarioPrivateImageCredentials(t *testing.T) {
	t.Parallel()
	catalog := filepath.Join(t.TempDir(), "catalog.json")
	const private = "registry.example.com/team/macos-private:latest"
	if err := os.WriteFile(catalog, []byte(`[{"name": "`+private+`", "os": "darwin", "credentials": {"username": "robot", "password": "s3cr3t-pa55"}}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newSimHost(t, "TART_SIM_CATALOG="+catalog)
	r := h.runner(h.settings())

	t.Run("without credentials", func(t *testing.T) {
		job := newJob("echo hi")
		job.Image = private
		res := h.run(r, job)
		if res.Status != "failed" || res.FailureReason != "script_failure" {
			t.Fatalf("got %s/%s, want a build failure; log:\n%s", res.Status, res.FailureReason, res.Log)
		}
		if res.PrepareAttempts != 1 {
			t.Errorf("prepare attempts %d: a credentials problem is the job's, not retried", res.PrepareAttempts)
		}
		mustContain(t, res.Log, "TART_REGISTRY_USERNAME")
	})
	t.Run("with credentials", func(t *testing.T) {
		job := newJob("echo private ok")
		job.Image = private
		job.Variables = map[string]string{"TART_REGISTRY_USERNAME": "robot", "TART_REGISTRY_PASSWORD": "s3cr3t-pa55"}
		res := h.run(r, job)
		if res.Status != "success" {
			t.Fatalf("status %s; log:\n%s", res.Status, res.Log)
		}
		mustContain(t, res.Log, "Pulled "+private, "private ok", "Registry credentials for")
		if strings.Contains(res.Log, "s3cr3t-pa55") || strings.Contains(res.RunnerLog, "s3cr3t-pa55") {
			t.Errorf("registry password in the log")
		}
	})
}

func TestScenarioLockedSettingRefused(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	r := h.runner(h.settings(`job_overridable = ["cpu", "pull_policy"]`))
	job := newJob(`echo "user=$(id -un) password=${TART_SSH_PASSWORD:-unset}"`)
	job.Variables = map[string]string{
		"TART_EXECUTOR_SOFTNET_ENABLED": "false",   // locked: isolation
		"TART_SSH_PASSWORD":             "hunter2", // locked: credentials
		"TARTAN_TIMEZONE":               "UTC",     // not in job_overridable
		"TARTAN_CPU":                    "5",       // allowed
		"TART_PULL_POLICY":              "always",  // allowed, legacy name
	}
	res := h.run(r, job)
	if res.Status != "success" {
		t.Fatalf("status %s; log:\n%s", res.Status, res.Log)
	}
	mustContain(t, res.Log,
		"Job variable TART_EXECUTOR_SOFTNET_ENABLED ignored: network is locked by the runner admin (it guards the host or other jobs; jobs can never set it): the admin sets network in the executor settings (--network)",
		"Job variable TART_SSH_PASSWORD ignored: ssh_password is locked by the runner admin",
		`Job variable TARTAN_TIMEZONE ignored: timezone is not job-overridable: the runner admin allows it by adding "timezone" to job_overridable`,
		"Job variable TARTAN_CPU sets cpu=5",
		"Job variable TART_PULL_POLICY sets pull_policy=always",
		"(macOS, 5 CPU,",
		"pull_policy always",
	)
	if strings.Contains(res.Log, "hunter2\n") && !strings.Contains(res.Log, "password=hunter2") {
		t.Errorf("unexpected password echo")
	}
}

func TestScenarioSharedBuildsDirNoCollision(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	hostBuilds := filepath.Join(t.TempDir(), "builds")
	r := h.runner(h.settings(fmt.Sprintf("host_builds_dir = %q", hostBuilds)))
	var wg sync.WaitGroup
	results := make([]*harness.Result, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			job := newJob(`echo "written by $CI_JOB_ID" > out.txt`, "sleep 1", `echo "read: $(cat out.txt) in $PWD"`)
			job.ConcurrentID, job.ConcurrentProjectID = i, i
			results[i] = h.run(r, job)
		}()
	}
	wg.Wait()
	for i, res := range results {
		if res.Status != "success" {
			t.Fatalf("job %d: %s; log:\n%s", i, res.Status, res.Log)
		}
		if shared, _ := res.Config["builds_dir_is_shared"].(bool); !shared {
			t.Errorf("config did not declare builds_dir_is_shared: %v", res.Config)
		}
		want := fmt.Sprintf("written by %d", 0)
		_ = want
		file := filepath.Join(hostBuilds, "t3stR0nr", fmt.Sprint(i), "group", "project", "out.txt")
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("job %d left no file on the host: %v", i, err)
		}
		jobID := strings.TrimSpace(strings.TrimPrefix(string(b), "written by "))
		if !strings.Contains(res.Log, "read: written by "+jobID) {
			t.Errorf("job %d read another job's file; host file says %q; log:\n%s", i, b, res.Log)
		}
	}
}

// Silence unused warnings for helpers used by some builds only.
var _ = context.Background

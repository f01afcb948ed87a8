package nomade2e

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

const linuxImage = "ghcr.io/cirruslabs/ubuntu:latest"

// tickerCommand prints numbered lines until interrupted, reports USR1 and
// exits cleanly on the kill_signal (SIGINT).
const tickerCommand = `echo started-on-stderr >&2
trap 'echo got-usr1' USR1
trap 'echo stopping; exit 0' INT
i=0
while true; do echo "tick $i"; i=$((i+1)); sleep 0.2; done`

func serviceJob(id, command string) string {
	return fmt.Sprintf(`
job %q {
  datacenters = ["dc1"]
  type        = "service"
  group "g" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }
    task "t" {
      driver       = "tart"
      kill_signal  = "SIGINT"
      kill_timeout = "10s"
      config {
        image   = %q
        command = %q
      }
      resources {
        cpu    = 100
        memory = 256
      }
    }
  }
}`, id, linuxImage, command)
}

var tickRE = regexp.MustCompile(`(?m)^tick (\d+)$`)

// assertTicksOnce checks that every tick line up to the last appears once:
// nothing lost, nothing duplicated.
func assertTicksOnce(t *testing.T, out string) int {
	t.Helper()
	seen := map[int]int{}
	last := -1
	for _, m := range tickRE.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[1])
		seen[n]++
		last = max(last, n)
	}
	for i := 0; i <= last; i++ {
		if seen[i] != 1 {
			t.Fatalf("tick %d appears %d times (want exactly once); log:\n%s", i, seen[i], out)
		}
	}
	return last
}

func noRestarts(t *testing.T, al *api.Allocation) {
	t.Helper()
	for _, st := range al.TaskStates {
		if st.Restarts > 0 {
			t.Fatalf("task restarted %d times: %s", st.Restarts, describeEvents(al))
		}
		for _, e := range st.Events {
			if e.Type == api.TaskRestarting {
				t.Fatalf("unexpected %s event: %s", e.Type, describeEvents(al))
			}
		}
	}
}

func vmsOf(t *testing.T, a *agent, runningOnly bool) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := a.tart(ctx, "list", "--source", "local", "--format", "json")
	must(t, err)
	var names []string
	for _, m := range regexp.MustCompile(`"Name"\s*:\s*"([^"]+)"[^}]*"Running"\s*:\s*(true|false)`).FindAllStringSubmatch(out, -1) {
		if !runningOnly || m[2] == "true" {
			names = append(names, m[1])
		}
	}
	return names
}

func stopJob(t *testing.T, a *agent, jobID string) *api.Allocation {
	t.Helper()
	_, _, err := a.client.Jobs().Deregister(jobID, false, nil)
	must(t, err)
	return a.waitAlloc(jobID, 60*time.Second, "complete", "failed")
}

// TestE2E_ServiceJob: logs, stderr apart, exec, signal, stats, stop.
func TestE2E_ServiceJob(t *testing.T) {
	a := devAgent(t)
	b := bins(t)
	a.runJob(serviceJob("svc", tickerCommand))
	al := a.waitAlloc("svc", 90*time.Second, "running")
	a.waitLog(al.ID, "t", "stdout", "tick 2\n", 30*time.Second)
	a.waitLog(al.ID, "t", "stderr", "started-on-stderr\n", 10*time.Second)
	if strings.Contains(a.logs(al.ID, "t", "stdout"), "started-on-stderr") {
		t.Fatal("stderr line in stdout")
	}

	// nomad alloc exec runs in the guest, with the task's environment.
	so, se, err := a.nomadCLI(b.nomad, 60*time.Second, "alloc", "exec", "-i=false", "-t=false", "-task", "t", al.ID,
		"/bin/sh", "-c", "echo exec-ok; echo $NOMAD_ALLOC_DIR; exit 0")
	if err != nil {
		t.Fatalf("nomad alloc exec: %v\nstdout: %s\nstderr: %s", err, so, se)
	}
	if !strings.Contains(so, "exec-ok\n/mnt/shared/alloc\n") {
		t.Fatalf("exec output %q", so)
	}

	must(t, a.client.Allocations().Signal(al, nil, "t", "SIGUSR1"))
	a.waitLog(al.ID, "t", "stdout", "got-usr1\n", 20*time.Second)

	stats, err := a.client.Allocations().Stats(al, nil)
	must(t, err)
	if stats.ResourceUsage == nil || stats.ResourceUsage.MemoryStats.RSS == 0 {
		t.Fatalf("no memory stats: %+v", stats.ResourceUsage)
	}

	final := stopJob(t, a, "svc")
	a.waitLog(al.ID, "t", "stdout", "stopping\n", 20*time.Second)
	assertTicksOnce(t, a.logs(al.ID, "t", "stdout"))
	if !poll(30*time.Second, func() bool { return len(vmsOf(t, a, false)) == 0 }) {
		t.Fatalf("VM not deleted after stop: %v (%s)", vmsOf(t, a, false), describeEvents(final))
	}
}

// TestE2E_VMOnlyTaskLogs: a task without a command is the VM; `nomad alloc
// logs` shows its serial console (Linux) and tart's own lines, through the
// real logmon, up to the guest's power-off when the job stops.
func TestE2E_VMOnlyTaskLogs(t *testing.T) {
	a := devAgent(t)
	hcl := strings.Replace(serviceJob("vmonly", "unused"), "        command = \"unused\"\n", "", 1)
	if strings.Contains(hcl, "unused") {
		t.Fatal("job template changed: the command line was not removed")
	}
	a.runJob(hcl)
	al := a.waitAlloc("vmonly", 90*time.Second, "running")
	a.waitLog(al.ID, "t", "stdout", "] Linux version ", 30*time.Second)
	a.waitLog(al.ID, "t", "stdout", "systemd[1]: Reached target Multi-User System.\n", 30*time.Second)
	final := stopJob(t, a, "vmonly")
	a.waitLog(al.ID, "t", "stdout", "] reboot: Power down\n", 30*time.Second)
	out := a.logs(al.ID, "t", "stdout")
	if n := strings.Count(out, "Reached target Multi-User System."); n != 1 {
		t.Fatalf("boot line %d times, want once; log:\n%s", n, out)
	}
	if !poll(30*time.Second, func() bool { return len(vmsOf(t, a, false)) == 0 }) {
		t.Fatalf("VM not deleted after stop: %v (%s)", vmsOf(t, a, false), describeEvents(final))
	}
}

// TestE2E_BatchExitCode: the guest command's exit code is the task's.
func TestE2E_BatchExitCode(t *testing.T) {
	a := devAgent(t)
	hcl := strings.Replace(serviceJob("batch", `echo batch-output; exit 3`), `type        = "service"`, `type        = "batch"`, 1)
	a.runJob(hcl)
	al := a.waitAlloc("batch", 90*time.Second, "failed", "complete")
	if al.ClientStatus != "failed" {
		t.Fatalf("exit 3 should fail the alloc: %s", describeEvents(al))
	}
	var code = -1
	for _, e := range al.TaskStates["t"].Events {
		if e.Type == api.TaskTerminated {
			code = e.ExitCode
		}
	}
	if code != 3 {
		t.Fatalf("exit code %d, want 3: %s", code, describeEvents(al))
	}
	a.waitLog(al.ID, "t", "stdout", "batch-output\n", 10*time.Second)
	_, _, err := a.client.Jobs().Deregister("batch", true, nil)
	must(t, err)
	if !poll(30*time.Second, func() bool { return len(vmsOf(t, a, false)) == 0 }) {
		t.Fatalf("VM not deleted: %v", vmsOf(t, a, false))
	}
}

// TestE2E_BadConfigIsATaskEvent: a bad option fails the task with a clear
// driver message.
func TestE2E_BadConfigIsATaskEvent(t *testing.T) {
	a := devAgent(t)
	hcl := strings.Replace(serviceJob("bad", "true"), `command = "true"`, `command = "true"
        root_disk_options = "caching=sometimes"`, 1)
	a.runJob(hcl)
	al := a.waitAlloc("bad", 90*time.Second, "failed")
	if ev := describeEvents(al); !strings.Contains(ev, "root_disk_options") {
		t.Fatalf("no event naming the bad option: %s", ev)
	}
	_, _, err := a.client.Jobs().Deregister("bad", true, nil)
	must(t, err)
}

// TestE2E_PluginCrashReattaches kills the plugin process mid-task: Nomad
// starts a new one, which recovers the task without restarting it.
func TestE2E_PluginCrashReattaches(t *testing.T) {
	a := devAgent(t)
	a.runJob(serviceJob("crash", tickerCommand))
	al := a.waitAlloc("crash", 90*time.Second, "running")
	a.waitLog(al.ID, "t", "stdout", "tick 2\n", 30*time.Second)
	vms := vmsOf(t, a, true)
	if len(vms) != 1 {
		t.Fatalf("want one running VM, got %v", vms)
	}
	old := a.pluginPIDs()
	if len(old) == 0 {
		t.Fatal("no plugin process found")
	}
	for _, pid := range old {
		must(t, syscall.Kill(pid, syscall.SIGKILL))
	}
	// Nomad notices on its next call into the plugin and relaunches it.
	if !poll(60*time.Second, func() bool {
		now := a.pluginPIDs()
		return len(now) > 0 && now[0] != old[0]
	}) {
		t.Fatalf("plugin not relaunched\n%s", a.logTail(40))
	}
	before := assertTicksOnce(t, a.logs(al.ID, "t", "stdout"))
	a.waitLog(al.ID, "t", "stdout", fmt.Sprintf("tick %d\n", before+5), 30*time.Second)
	a.waitAgentLog("recovered task", 30*time.Second)
	cur, _, err := a.client.Allocations().Info(al.ID, nil)
	must(t, err)
	if cur.ClientStatus != "running" {
		t.Fatalf("alloc %s after plugin crash: %s", cur.ClientStatus, describeEvents(cur))
	}
	noRestarts(t, cur)
	if now := vmsOf(t, a, true); len(now) != 1 || now[0] != vms[0] {
		t.Fatalf("VM changed across the plugin crash: %v -> %v", vms, now)
	}
	// The recovered plugin still controls the task.
	must(t, a.client.Allocations().Signal(cur, nil, "t", "SIGUSR1"))
	a.waitLog(al.ID, "t", "stdout", "got-usr1\n", 20*time.Second)
	stopJob(t, a, "crash")
	a.waitLog(al.ID, "t", "stdout", "stopping\n", 20*time.Second)
	assertTicksOnce(t, a.logs(al.ID, "t", "stdout"))
	if !poll(30*time.Second, func() bool { return len(vmsOf(t, a, false)) == 0 }) {
		t.Fatalf("VM not deleted: %v", vmsOf(t, a, false))
	}
}

// TestE2E_ClientRestartRecovers restarts a non-dev agent (client state in
// its data_dir): the task keeps running through the restart and is
// reattached, with every log line exactly once.
func TestE2E_ClientRestartRecovers(t *testing.T) {
	b := bins(t)
	a := newAgent(t, b, false)
	t.Cleanup(func() {
		if leaks := a.destroy(t.Failed()); len(leaks) > 0 {
			t.Errorf("leaked: %v", leaks)
		}
	})
	a.start(b.nomad)
	a.runJob(serviceJob("restart", tickerCommand))
	al := a.waitAlloc("restart", 120*time.Second, "running")
	a.waitLog(al.ID, "t", "stdout", "tick 2\n", 30*time.Second)
	vms := vmsOf(t, a, true)

	a.stop()
	if now := vmsOf(t, a, true); len(now) != 1 || now[0] != vms[0] {
		t.Fatalf("VM did not survive the agent stop: %v", now)
	}
	if len(supervisorsOf(a.plugin)) != 1 {
		t.Fatal("the task's supervisor did not survive the agent stop")
	}
	a.start(b.nomad)
	cur := a.waitAlloc("restart", 60*time.Second, "running")
	if cur.ID != al.ID {
		t.Fatalf("a new allocation replaced the old one: %s -> %s", al.ID, cur.ID)
	}
	before := assertTicksOnce(t, a.waitLog(al.ID, "t", "stdout", "tick", 30*time.Second))
	a.waitLog(al.ID, "t", "stdout", fmt.Sprintf("tick %d\n", before+5), 30*time.Second)
	a.waitAgentLog("recovered task", 30*time.Second)
	cur, _, err := a.client.Allocations().Info(al.ID, nil)
	must(t, err)
	noRestarts(t, cur)
	if now := vmsOf(t, a, true); len(now) != 1 || now[0] != vms[0] {
		t.Fatalf("VM changed across the restart: %v -> %v", vms, now)
	}
	stopJob(t, a, "restart")
	a.waitLog(al.ID, "t", "stdout", "stopping\n", 20*time.Second)
	assertTicksOnce(t, a.logs(al.ID, "t", "stdout"))
	if !poll(30*time.Second, func() bool { return len(vmsOf(t, a, false)) == 0 }) {
		t.Fatalf("VM not deleted: %v", vmsOf(t, a, false))
	}
}

func macVMJob(id string) string {
	return fmt.Sprintf(`
job %q {
  datacenters = ["dc1"]
  group "g" {
    restart {
      attempts = 30
      interval = "10m"
      delay    = "1s"
      mode     = "delay"
    }
    task "vm" {
      driver       = "tart"
      kill_timeout = "5s"
      config {
        image = "ghcr.io/cirruslabs/macos-sequoia-base:latest"
      }
    }
  }
}`, id)
}

// TestE2E_ThirdMacOSVMWaitsForASlot: with the default limit of two macOS
// VMs, a third macOS task fails with a recoverable error that Nomad's
// restart policy retries until a slot frees up.
func TestE2E_ThirdMacOSVMWaitsForASlot(t *testing.T) {
	a := devAgent(t)
	for _, id := range []string{"mac1", "mac2"} {
		a.runJob(macVMJob(id))
		a.waitAlloc(id, 90*time.Second, "running")
	}
	a.runJob(macVMJob("mac3"))
	var third *api.Allocation
	if !poll(60*time.Second, func() bool {
		stubs, _, err := a.client.Jobs().Allocations("mac3", false, nil)
		if err != nil || len(stubs) == 0 {
			return false
		}
		third, _, _ = a.client.Allocations().Info(stubs[0].ID, nil)
		return third != nil && strings.Contains(describeEvents(third), "no free VM slot") &&
			strings.Contains(describeEvents(third), string(api.TaskRestarting))
	}) {
		t.Fatalf("third macOS task did not fail recoverably: %s", describeEvents(third))
	}
	if third.ClientStatus == "running" {
		t.Fatalf("third macOS VM runs next to two others: %s", describeEvents(third))
	}
	stopJob(t, a, "mac1")
	a.waitAlloc("mac3", 60*time.Second, "running")
	for _, id := range []string{"mac2", "mac3"} {
		stopJob(t, a, id)
	}
	if !poll(30*time.Second, func() bool { return len(vmsOf(t, a, false)) == 0 }) {
		t.Fatalf("VMs not deleted: %v", vmsOf(t, a, false))
	}
}

package nomade2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/tartanhq/tartan/slots"
)

// TestE2E_TartDevice runs one non-dev agent (server+client with a
// data_dir) whose client has the Tart driver (installed as "tart", loaded
// by a `plugin "tart"` block) and the nomad-device-tart device plugin on
// the same slots. The scenarios share it: agents are heavy on two cores.
func TestE2E_TartDevice(t *testing.T) {
	da := newDeviceAgent(t, false, true)
	da.start()
	a := da.agent

	t.Run("seed 000 plugin label loads the driver", func(t *testing.T) {
		nodes, _, err := a.client.Nodes().List(nil)
		must(t, err)
		n, _, err := a.client.Nodes().Info(nodes[0].ID, nil)
		must(t, err)
		// The option of the `plugin "tart"` block reached the driver.
		if got := n.Attributes["driver.tart.binary"]; got != a.tartSim {
			t.Fatalf("driver.tart.binary = %q, want the configured tart_binary %q", got, a.tartSim)
		}
	})

	t.Run("third macOS job waits in a blocked evaluation", func(t *testing.T) { thirdJobWaits(t, da) })
	t.Run("a GitLab job's slot reduces what Nomad places", func(t *testing.T) { gitlabSlotReducesPlacement(t, da) })
	t.Run("macOS task without a reservation is refused", func(t *testing.T) { noReservationRefused(t, da) })
	t.Run("VM-only task whose VM is killed fails", func(t *testing.T) { killedVMFails(t, da) })
	t.Run("signals reach the guest once", func(t *testing.T) { signalsOnce(t, da) })
	t.Run("exec, signal, stats and stop after a client restart", func(t *testing.T) { restartThenControl(t, da) })
}

// thirdJobWaits: one client, two slots, three macOS jobs: two run, the
// third is pending with a blocked evaluation, zero failed allocations and
// no VM cloned for it; when one stops, the third runs within seconds.
func thirdJobWaits(t *testing.T, da *deviceAgent) {
	a := da.agent
	for _, id := range []string{"mac1", "mac2"} {
		a.runJob(macJob(id, true))
		a.waitAlloc(id, 90*time.Second, "running")
	}
	a.runJob(macJob("mac3", true))
	if !poll(30*time.Second, func() bool { return blockedEval(t, a, "mac3") }) {
		t.Fatalf("mac3 has no blocked evaluation; allocs %v", allocsOf(t, a, "mac3"))
	}
	if got := allocsOf(t, a, "mac3"); len(got) != 0 {
		t.Fatalf("mac3 got allocations while both slots are taken: %v", got)
	}
	// What `nomad job status` shows as the placement failure.
	why := placementFailure(t, a, "mac3")
	if !strings.Contains(why, "devices") {
		t.Fatalf("placement failure does not name the devices: %s", why)
	}
	t.Logf("mac3 placement failure: %s", why)
	sum, _, err := a.client.Jobs().Summary("mac3", nil)
	must(t, err)
	if q := sum.Summary["g"].Queued; q != 1 {
		t.Fatalf("mac3 queued = %d, want 1 (pending)", q)
	}
	if vms := vmsOf(t, a, false); len(vms) != 2 {
		t.Fatalf("want exactly the two running VMs (none cloned for mac3), got %v", vms)
	}

	stopped := time.Now()
	stopJob(t, a, "mac1")
	a.waitAlloc("mac3", 60*time.Second, "running")
	t.Logf("mac3 running %s after mac1 was stopped", time.Since(stopped).Round(100*time.Millisecond))

	pool, err := slots.New(da.slotsDir, nil)
	must(t, err)
	holders, err := pool.Holders(slots.KindMacOS)
	must(t, err)
	if len(holders) != 2 || holders[0].Slot == holders[1].Slot {
		t.Fatalf("the two VMs should hold both slots: %v", holders)
	}
	for _, id := range []string{"mac1", "mac2", "mac3"} {
		if n := allocsOf(t, a, id)["failed"]; n != 0 {
			t.Fatalf("%s has %d failed allocations", id, n)
		}
	}
	for _, id := range []string{"mac1", "mac2", "mac3"} {
		purgeJob(t, a, id)
	}
	waitNoVMs(t, a)
	da.waitSlots(30*time.Second, 2)
}

// gitlabSlotReducesPlacement: a slot taken on the same host outside Nomad
// (as the GitLab executor takes it) shows as an unhealthy instance, so only
// one macOS job is placed; when it is freed the other runs.
func gitlabSlotReducesPlacement(t *testing.T, da *deviceAgent) {
	a := da.agent
	pool, err := slots.New(da.slotsDir, nil)
	must(t, err)
	gitlab, err := pool.TryAcquire(slots.KindMacOS, slots.Holder{Owner: "gitlab job 4242", VM: "gitlab-vm"})
	must(t, err)
	defer gitlab.Release()
	da.waitSlots(30*time.Second, 1)

	a.runJob(macJob("gl1", true))
	a.waitAlloc("gl1", 90*time.Second, "running")
	a.runJob(macJob("gl2", true))
	if !poll(30*time.Second, func() bool { return blockedEval(t, a, "gl2") }) {
		t.Fatalf("gl2 not blocked next to a GitLab-held slot; allocs %v", allocsOf(t, a, "gl2"))
	}
	if got := allocsOf(t, a, "gl2"); len(got) != 0 {
		t.Fatalf("gl2 placed onto the GitLab job's slot: %v", got)
	}
	must(t, gitlab.Release())
	a.waitAlloc("gl2", 60*time.Second, "running")
	for _, id := range []string{"gl1", "gl2"} {
		if n := allocsOf(t, a, id)["failed"]; n != 0 {
			t.Fatalf("%s has %d failed allocations", id, n)
		}
		purgeJob(t, a, id)
	}
	waitNoVMs(t, a)
}

// noReservationRefused: on a client with the device plugin, a macOS task
// without the device block fails with a message naming the block.
func noReservationRefused(t *testing.T, da *deviceAgent) {
	a := da.agent
	a.runJob(macJob("blind", false))
	al := a.waitAlloc("blind", 90*time.Second, "failed")
	if ev := taskEvents(al, "vm"); !strings.Contains(ev, `device "tartan/vm/macos-slot" { count = 1 }`) {
		t.Fatalf("no event naming the device block: %s", ev)
	}
	purgeJob(t, a, "blind")
	waitNoVMs(t, a)
}

func linuxJob(id, typ, command, killTimeout string) string {
	cmd := ""
	if command != "" {
		cmd = fmt.Sprintf("\n        command = %q", command)
	}
	return fmt.Sprintf(`
job %q {
  datacenters = ["dc1"]
  type        = %q
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
      kill_timeout = %q
      config {
        image = %q%s
      }
      resources {
        cpu    = 100
        memory = 128
      }
    }
  }
}`, id, typ, killTimeout, linuxImage, cmd)
}

// killedVMFails: a VM-only batch task whose `tart run` is SIGKILLed fails
// with a message instead of completing with exit code 0.
func killedVMFails(t *testing.T, da *deviceAgent) {
	a := da.agent
	a.runJob(linuxJob("vmdies", "batch", "", "5s"))
	al := a.waitAlloc("vmdies", 90*time.Second, "running")
	if !poll(60*time.Second, func() bool {
		al, _, _ = a.client.Allocations().Info(al.ID, nil)
		return strings.Contains(taskEvents(al, "t"), " running at ")
	}) {
		t.Fatalf("the VM never finished booting: %s", taskEvents(al, "t"))
	}
	var vm string
	if !poll(30*time.Second, func() bool { vms := vmsOf(t, a, true); vm = strings.Join(vms, ""); return len(vms) == 1 }) {
		t.Fatal("no running VM")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := a.tart(ctx, "sim", "fault", vm, "crash") // SIGKILL of tart run
	must(t, err)
	al = a.waitAlloc("vmdies", 60*time.Second, "failed", "complete")
	if al.ClientStatus != "failed" {
		t.Fatalf("a killed VM completed the task: %s", taskEvents(al, "t"))
	}
	if ev := taskEvents(al, "t"); !strings.Contains(ev, "killed by a signal") {
		t.Fatalf("no message saying the VM was killed: %s", ev)
	}
	purgeJob(t, a, "vmdies")
	waitNoVMs(t, a)
}

// slowTraps' TERM trap needs 4 s, longer than the transports' old re-send
// grace (2 s): a second TERM would cut it short (force-quit exit 7).
const slowTraps = `trap 'echo got-usr1; sleep 3; echo usr1-done' USR1
trap 'echo got-term; sleep 4; echo clean-exit; exit 0' TERM
echo up
while true; do sleep 0.2; done`

// signalsOnce: `nomad alloc signal` and a graceful stop (kill_timeout 30 s)
// each run the guest's trap once, and the stop ends with exit code 0.
func signalsOnce(t *testing.T, da *deviceAgent) {
	a := da.agent
	a.runJob(strings.Replace(linuxJob("once", "service", slowTraps, "30s"), `kill_timeout = "30s"`, `kill_timeout = "30s"
      kill_signal  = "SIGTERM"`, 1))
	al := a.waitAlloc("once", 90*time.Second, "running")
	a.waitLog(al.ID, "t", "stdout", "up\n", 60*time.Second)
	_, se, err := a.nomadCLI(da.nomad, 30*time.Second, "alloc", "signal", "-s", "SIGUSR1", al.ID, "t")
	if err != nil {
		t.Fatalf("nomad alloc signal: %v: %s", err, se)
	}
	a.waitLog(al.ID, "t", "stdout", "usr1-done\n", 20*time.Second)
	final := stopJob(t, a, "once")
	a.waitLog(al.ID, "t", "stdout", "clean-exit\n", 20*time.Second)
	out := a.logs(al.ID, "t", "stdout")
	if n := strings.Count(out, "got-usr1"); n != 1 {
		t.Fatalf("USR1 trap ran %d times, want once:\n%s", n, out)
	}
	if n := strings.Count(out, "got-term"); n != 1 {
		t.Fatalf("TERM trap ran %d times, want once:\n%s", n, out)
	}
	if !poll(30*time.Second, func() bool {
		final, _, _ = a.client.Allocations().Info(al.ID, nil)
		return terminatedCode(final, "t") == 0
	}) {
		t.Fatalf("graceful stop did not exit 0: %s", taskEvents(final, "t"))
	}
	purgeJob(t, a, "once")
	waitNoVMs(t, a)
}

// terminatedCode is the exit code of the task's Terminated event (-1: none).
func terminatedCode(al *api.Allocation, task string) int {
	if al == nil || al.TaskStates[task] == nil {
		return -1
	}
	for _, e := range al.TaskStates[task].Events {
		if e.Type == api.TaskTerminated {
			return e.ExitCode
		}
	}
	return -1
}

// restartThenControl: after a normal client restart (SIGINT, same
// data_dir) exec, signals, stats and stop still work.
func restartThenControl(t *testing.T, da *deviceAgent) {
	a := da.agent
	// kill_signal SIGTERM: the stop must end the command through its trap.
	termTicker := strings.Replace(tickerCommand, "' INT", "' TERM", 1)
	a.runJob(strings.Replace(serviceJob("ctl", termTicker), `kill_signal  = "SIGINT"`, `kill_signal  = "SIGTERM"`, 1))
	al := a.waitAlloc("ctl", 90*time.Second, "running")
	a.waitLog(al.ID, "t", "stdout", "tick 2\n", 60*time.Second)
	exec := func(want int) {
		t.Helper()
		so, se, err := a.nomadCLI(da.nomad, 60*time.Second, "alloc", "exec", "-i=false", "-t=false", "-task", "t", al.ID,
			"/bin/sh", "-c", "echo exec-ok; exit 3")
		var code int
		if ee, ok := err.(interface{ ExitCode() int }); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("nomad alloc exec: %v: %s", err, se)
		}
		if code != want || !strings.Contains(so, "exec-ok") {
			t.Fatalf("nomad alloc exec: exit %d (want %d), stdout %q, stderr %q", code, want, so, se)
		}
	}
	exec(3)
	waitStats(t, a, al)

	a.stop()
	da.start()
	a.waitAgentLog("recovered task", 60*time.Second)
	cur := a.waitAlloc("ctl", 60*time.Second, "running")
	if cur.ID != al.ID {
		t.Fatalf("a new allocation replaced the old one: %s -> %s", al.ID, cur.ID)
	}
	exec(3)
	must(t, a.client.Allocations().Signal(cur, nil, "t", "SIGUSR1"))
	a.waitLog(al.ID, "t", "stdout", "got-usr1\n", 20*time.Second)
	waitStats(t, a, cur)
	noRestarts(t, cur)
	stopJob(t, a, "ctl")
	a.waitLog(al.ID, "t", "stdout", "stopping\n", 20*time.Second)
	assertTicksOnce(t, a.logs(al.ID, "t", "stdout"))
	purgeJob(t, a, "ctl")
	waitNoVMs(t, a)
}

// TestE2E_TartStopWhileBooting: with guests that need 120 s for an IP, the
// task is started at once (boot progress in its events) and a job stop
// takes seconds and deletes the VM, instead of waiting out the boot.
func TestE2E_TartStopWhileBooting(t *testing.T) {
	da := newDeviceAgent(t, true, false, "TART_SIM_IP_DELAY=120s")
	da.start()
	a := da.agent
	for _, id := range []string{"bootcmd", "bootvm"} {
		cmd := ""
		if id == "bootcmd" {
			cmd = "echo never"
		}
		registered := time.Now()
		a.runJob(linuxJob(id, "service", cmd, "30s"))
		al := a.waitAlloc(id, 60*time.Second, "running")
		// The boot's progress event comes from the background boot, which
		// may be a moment behind the client marking the task running.
		var ev string
		if !poll(20*time.Second, func() bool {
			if cur, _, err := a.client.Allocations().Info(al.ID, nil); err == nil {
				ev = taskEvents(cur, "t")
			}
			return strings.Contains(ev, "waiting for it to boot")
		}) {
			t.Fatalf("no boot progress event: %s", ev)
		}
		t.Logf("%s: running %s after registration (IP due in 120 s)", id, time.Since(registered).Round(100*time.Millisecond))
		if len(vmsOf(t, a, true)) != 1 {
			t.Fatalf("want the booting VM: %v", vmsOf(t, a, false))
		}
		stopAt := time.Now()
		_, _, err := a.client.Jobs().Deregister(id, false, nil)
		must(t, err)
		final := a.waitAlloc(id, 30*time.Second, "complete", "failed")
		if !poll(30*time.Second, func() bool { return len(vmsOf(t, a, false)) == 0 }) {
			t.Fatalf("VM not deleted after stop: %v (%s)", vmsOf(t, a, false), taskEvents(final, "t"))
		}
		took := time.Since(stopAt)
		t.Logf("%s: stopped and VM deleted %s after the stop", id, took.Round(100*time.Millisecond))
		if took > 20*time.Second {
			t.Fatalf("stop during boot took %s", took)
		}
		purgeJob(t, a, id)
	}
}

// waitStats waits for the alloc's stats to show the VM's memory.
func waitStats(t *testing.T, a *agent, al *api.Allocation) {
	t.Helper()
	var last string
	if !poll(30*time.Second, func() bool {
		stats, err := a.client.Allocations().Stats(al, nil)
		if err != nil {
			last = err.Error()
			return false
		}
		last = fmt.Sprintf("%+v", stats.ResourceUsage)
		if stats.ResourceUsage != nil && stats.ResourceUsage.MemoryStats != nil {
			last = fmt.Sprintf("%+v tasks %d", *stats.ResourceUsage.MemoryStats, len(stats.Tasks))
		}
		return stats.ResourceUsage != nil && stats.ResourceUsage.MemoryStats.RSS > 0
	}) {
		t.Fatalf("no stats: %s", last)
	}
}

// placementFailure summarises the job's failed placements (dimension
// exhausted, constraints filtered) from its evaluations.
func placementFailure(t *testing.T, a *agent, jobID string) string {
	t.Helper()
	evals, _, err := a.client.Jobs().Evaluations(jobID, nil)
	must(t, err)
	var b strings.Builder
	for _, e := range evals {
		for tg, m := range e.FailedTGAllocs {
			fmt.Fprintf(&b, "%s: exhausted %v filtered %v; ", tg, m.DimensionExhausted, m.ConstraintFiltered)
		}
	}
	return b.String()
}

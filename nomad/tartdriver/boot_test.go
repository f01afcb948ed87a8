package tartdriver

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/shoenig/test/must"
)

// TestBoot_StopWhileBootingTakesSeconds: with a guest that needs 120 s for
// its IP, StartTask returns once the VM runs; stop (command and VM-only
// tasks) and a forced destroy take effect within seconds and delete the VM,
// instead of waiting out the boot.
func TestBoot_StopWhileBootingTakesSeconds(t *testing.T) {
	t.Setenv("TART_SIM_IP_DELAY", "120s")
	e := newTestEnv(t)
	h, d := e.newHarness(e.pluginConfig())
	for _, tc := range []struct {
		name   string
		config TaskConfig
		stop   func(id string) error
	}{
		{"command", TaskConfig{Image: linuxImage, Command: "echo never"}, func(id string) error { return h.StopTask(id, 30*time.Second, "SIGTERM") }},
		{"vmonly", TaskConfig{Image: linuxImage}, func(id string) error { return h.StopTask(id, 30*time.Second, "") }},
		{"destroy", TaskConfig{Image: macImage}, func(id string) error { return h.DestroyTask(id, true) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			task := newTask(t, tc.name, tc.config)
			mkAllocDirNoLogs(t, h, task)
			began := time.Now()
			_, _, err := h.StartTask(task)
			must.NoError(t, err)
			t.Cleanup(func() { _ = h.DestroyTask(task.ID, true) })
			must.Less(t, 10*time.Second, time.Since(began), must.Sprint("StartTask waited for the boot"))
			must.True(t, taskBooting(d, task.ID))
			vm := vmName(task.AllocID, task.Name)
			must.True(t, e.vmExists(vm))

			stopAt := time.Now()
			must.NoError(t, tc.stop(task.ID))
			if tc.name != "destroy" {
				waitExit(t, h, task.ID, 15*time.Second)
				must.NoError(t, h.DestroyTask(task.ID, true))
			}
			must.Less(t, 15*time.Second, time.Since(stopAt), must.Sprint("the stop waited for the boot"))
			must.False(t, e.vmExists(vm))
		})
	}
}

// TestBoot_FailureAndProgressAreTaskEvents: the boot's progress and its
// failure (within ready_timeout) are task events.
func TestBoot_FailureAndProgressAreTaskEvents(t *testing.T) {
	t.Setenv("TART_SIM_NO_IP", "1")
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	events, err := h.TaskEvents(context.Background())
	must.NoError(t, err)
	task := newTask(t, "noip", TaskConfig{Image: linuxImage, ReadyTimeout: "3s"})
	mkAllocDirNoLogs(t, h, task)
	res := bootFailure(t, e, h, task, 30*time.Second)
	must.ErrorContains(t, res.Err, "no IP address within ready_timeout (3s)")
	waitEvent(t, events, task.ID, "waiting for it to boot (ready_timeout 3s)")
	waitEvent(t, events, task.ID, "Start failed: the VM got no IP address")
}

// TestBoot_NoTartIPOutlivesAKilledPlugin: the IP wait runs in short `tart
// ip` calls, so a plugin gone mid-boot leaves none behind for long.
func TestBoot_NoTartIPOutlivesAKilledPlugin(t *testing.T) {
	t.Setenv("TART_SIM_NO_IP", "1")
	e := newTestEnv(t)
	h, d := e.newHarness(e.pluginConfig())
	task := newTask(t, "ipwait", TaskConfig{Image: linuxImage, ReadyTimeout: "10m"})
	mkAllocDirNoLogs(t, h, task)
	_, _, err := h.StartTask(task)
	must.NoError(t, err)
	t.Cleanup(func() { // the shut-down driver cannot destroy any more
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = removeVM(ctx, e.client, vmName(task.AllocID, task.Name))
	})
	// A SIGKILLed plugin cannot kill its children: what bounds an orphaned
	// `tart ip` is its own --wait, which must be short, not ready_timeout.
	var calls []string
	eventually(t, 10*time.Second, "a tart ip call", func() bool { calls = tartIPProcesses(e.home); return len(calls) > 0 })
	for _, c := range calls {
		must.StrContains(t, c, " --wait 2", must.Sprint("a tart ip wait longer than ipPollWait would outlive a killed plugin"))
	}
	d.Shutdown()
	eventually(t, ipPollWait+3*time.Second, "no tart ip left", func() bool { return len(tartIPProcesses(e.home)) == 0 })
}

// tartIPProcesses lists `tart ip` processes of this TART_HOME.
func tartIPProcesses(home string) []string {
	var out []string
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) < 2 || args[1] != "ip" {
			continue
		}
		env, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "environ"))
		if strings.Contains(string(env), "TART_HOME="+home+"\x00") {
			out = append(out, strings.Join(args, " "))
		}
	}
	return out
}

// TestRecover_ExecSignalStopWithoutDriverConfig: after a client restart
// Nomad hands RecoverTask no raw driver config. Exec, signals, stats and
// stop still work from the driver's own task record, which is private.
func TestRecover_ExecSignalStopWithoutDriverConfig(t *testing.T) {
	e := newTestEnv(t)
	h1, d1 := e.newHarness(e.pluginConfig())
	task := newTask(t, "restart", TaskConfig{Image: linuxImage, GuestTransport: "ssh", SSHPassword: "admin",
		Command: `trap 'echo got-usr1' USR1; trap 'echo stopping; exit 0' TERM; echo up; while true; do sleep 0.2; done`})
	mkAllocDir(t, h1, task)
	handle, _ := start(t, h1, task)
	logEventually(t, task, "stdout", "up\n")
	d1.Shutdown()

	var st TaskState
	must.NoError(t, handle.GetDriverState(&st))
	fi, err := os.Stat(st.RecordPath)
	must.NoError(t, err)
	must.Eq(t, os.FileMode(0o600), fi.Mode().Perm())
	dir, err := os.Stat(filepath.Dir(st.RecordPath))
	must.NoError(t, err)
	must.Eq(t, os.FileMode(0o700), dir.Mode().Perm())
	must.StrNotContains(t, st.RecordPath, task.AllocDir, must.Sprint("the record must not be reachable through nomad alloc fs"))

	// What Nomad's client state gives back after a restart: no driver config.
	stripped := handle.Copy()
	must.NoError(t, stripped.Config.EncodeConcreteDriverConfig(&struct{}{}))
	h2, _ := e.newHarness(e.pluginConfig())
	t.Cleanup(func() { _ = h2.DestroyTask(task.ID, true) })
	must.NoError(t, h2.RecoverTask(stripped))

	res, err := h2.ExecTask(task.ID, []string{"/bin/sh", "-c", "echo exec-ok; exit 3"}, 20*time.Second)
	must.NoError(t, err)
	must.Eq(t, 3, res.ExitResult.ExitCode)
	must.Eq(t, "exec-ok\n", string(res.Stdout))
	must.NoError(t, h2.SignalTask(task.ID, "SIGUSR1"))
	logEventually(t, task, "stdout", "got-usr1\n")
	ctx, cancel := context.WithCancel(context.Background())
	stats, err := h2.TaskStats(ctx, task.ID, 100*time.Millisecond)
	must.NoError(t, err)
	u := <-stats
	cancel()
	must.Positive(t, u.ResourceUsage.MemoryStats.RSS)
	must.NoError(t, h2.StopTask(task.ID, 10*time.Second, "SIGTERM"))
	exit := waitExit(t, h2, task.ID, 20*time.Second)
	must.Eq(t, 0, exit.ExitCode)
	logEventually(t, task, "stdout", "stopping\n")
	must.NoError(t, h2.DestroyTask(task.ID, true))
	_, err = os.Stat(st.RecordPath)
	must.True(t, os.IsNotExist(err), must.Sprint("destroy removes the task record"))
}

// TestSignal_VMOnlySIGUSR1IsRefusedUnlessSuspendable: SIGUSR1 would make
// tart suspend a VM not started suspendable (the suspend fails and the VM
// is lost): it is refused with a message saying what to use.
func TestSignal_VMOnlySIGUSR1IsRefusedUnlessSuspendable(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "vm", TaskConfig{Image: macImage})
	mkAllocDirNoLogs(t, h, task)
	start(t, h, task)
	err := h.SignalTask(task.ID, "SIGUSR1")
	must.ErrorContains(t, err, "suspendable = true")
	must.ErrorContains(t, err, "SIGUSR2")
	st, err := h.InspectTask(task.ID)
	must.NoError(t, err)
	must.Eq(t, drivers.TaskStateRunning, st.State)
	must.True(t, e.vmExists(vmName(task.AllocID, task.Name)))
}

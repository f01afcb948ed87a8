package tartdriver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/hashicorp/nomad/plugins/drivers/testutils"
	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/supervisor"
)

// Lines a VM-only task's stdout shows: the guest's console (tart-sim's
// Linux boot log) and `tart run`'s own output.
const (
	consoleBoot     = "] Linux version 6.8.0-tart-sim ("
	consoleUp       = "] systemd[1]: Reached target Multi-User System.\n"
	consolePowerOff = "] reboot: Power down\n"
	tartStopReq     = "Requesting guest OS to stop...\n"
	tartGuestStop   = "guest has stopped the virtual machine\n"
)

// vmLogTimeout is generous: the machine is shared with other test runs.
const vmLogTimeout = 30 * time.Second

func stdoutEventually(t *testing.T, task *drivers.TaskConfig, want string) {
	t.Helper()
	eventually(t, vmLogTimeout, fmt.Sprintf("stdout to contain %q", want), func() bool {
		return strings.Contains(readLog(t, task, "stdout"), want)
	})
}

func taskState(t *testing.T, handle *drivers.TaskHandle) TaskState {
	t.Helper()
	var st TaskState
	must.NoError(t, handle.GetDriverState(&st))
	return st
}

// stopVMOnly stops a VM-only task as Nomad does (default signal: the guest
// is asked to power off) and returns its result.
func stopVMOnly(t *testing.T, h *testutils.DriverHarness, id string) *drivers.ExitResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*vmLogTimeout)
	defer cancel()
	ch, err := h.WaitTask(ctx, id)
	must.NoError(t, err)
	must.NoError(t, h.StopTask(id, vmLogTimeout, ""))
	select {
	case res := <-ch:
		must.NotNil(t, res, must.Sprint("wait channel closed without a result"))
		return res
	case <-ctx.Done():
		t.Fatalf("task %s did not end after StopTask", id)
		return nil
	}
}

// assertSupervisorGone: after DestroyTask no follower holds the task's
// state directory and its process is gone.
func assertSupervisorGone(t *testing.T, st TaskState) {
	t.Helper()
	pid := supervisor.PID(st.StateDir)
	must.Positive(t, pid, must.Sprint("the task never had a supervisor"))
	must.False(t, supervisor.Alive(st.StateDir))
	eventually(t, 10*time.Second, "the supervisor process to be gone", func() bool {
		return syscall.Kill(pid, 0) != nil
	})
}

// TestVMLogs_LinuxTaskShowsConsoleAndTartOutput: `nomad alloc logs` of a
// Linux VM-only task shows the guest booting on its serial console, then,
// on stop, tart's lines and the guest's power-off, each once, all before
// the task is reported ended. stderr stays empty.
func TestVMLogs_LinuxTaskShowsConsoleAndTartOutput(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "web", TaskConfig{Image: linuxImage, ConsoleLog: true})
	mkAllocDir(t, h, task)
	handle, _ := start(t, h, task)
	vm := vmName(task.AllocID, task.Name)

	stdoutEventually(t, task, consoleBoot)
	stdoutEventually(t, task, consoleUp)
	// The login prompt has no newline; it still shows while the VM runs.
	stdoutEventually(t, task, vm+" login: \n")

	res := stopVMOnly(t, h, task.ID)
	must.Eq(t, 0, res.ExitCode)
	stdoutEventually(t, task, consolePowerOff)
	stdoutEventually(t, task, tartGuestStop)
	out := readLog(t, task, "stdout")
	for _, line := range []string{consoleBoot, consoleUp, tartStopReq, consolePowerOff, tartGuestStop} {
		must.Eq(t, 1, strings.Count(out, line), must.Sprintf("%q in:\n%s", line, out))
	}
	must.Eq(t, "", readLog(t, task, "stderr"))

	st := taskState(t, handle)
	must.True(t, st.LogFollower)
	must.NoError(t, h.DestroyTask(task.ID, true))
	assertSupervisorGone(t, st)
}

// TestVMLogs_ConsoleLogOffAndMacOSGuests: without console capture, and for
// macOS guests (which have no virtio console output), the log holds tart's
// lines only.
func TestVMLogs_ConsoleLogOffAndMacOSGuests(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	linux := newTask(t, "quiet", TaskConfig{Image: linuxImage, ConsoleLog: false})
	mac := newTask(t, "mac", TaskConfig{Image: macImage, ConsoleLog: true})
	for _, task := range []*drivers.TaskConfig{linux, mac} {
		mkAllocDir(t, h, task)
		handle, _ := start(t, h, task)
		must.Eq(t, 0, stopVMOnly(t, h, task.ID).ExitCode)
		stdoutEventually(t, task, tartStopReq+tartGuestStop)
		out := readLog(t, task, "stdout")
		must.Eq(t, tartStopReq+tartGuestStop, out, must.Sprintf("task %s", task.Name))
		st := taskState(t, handle)
		must.NoError(t, h.DestroyTask(task.ID, true))
		assertSupervisorGone(t, st)
	}
}

// TestVMLogs_RecoveredTaskLogsEveryLineOnce: the plugin crashes after the
// guest booted and a new instance recovers the task; the boot log before
// and the shutdown after are each in the log exactly once.
func TestVMLogs_RecoveredTaskLogsEveryLineOnce(t *testing.T) {
	e := newTestEnv(t)
	h1, d1 := e.newHarness(e.pluginConfig())
	task := newTask(t, "phoenix", TaskConfig{Image: linuxImage, ConsoleLog: true})
	mkAllocDir(t, h1, task)
	handle, _, err := h1.StartTask(task)
	must.NoError(t, err)
	stdoutEventually(t, task, consoleUp)
	d1.Shutdown() // see TestRecover_NewPluginInstanceReattaches

	h2, _ := e.newHarness(e.pluginConfig())
	t.Cleanup(func() { _ = h2.DestroyTask(task.ID, true) })
	must.NoError(t, h2.RecoverTask(handle))
	must.Eq(t, 0, stopVMOnly(t, h2, task.ID).ExitCode)
	stdoutEventually(t, task, consolePowerOff)
	stdoutEventually(t, task, tartGuestStop)
	out := readLog(t, task, "stdout")
	for _, line := range []string{consoleBoot, consoleUp, tartStopReq, consolePowerOff, tartGuestStop} {
		must.Eq(t, 1, strings.Count(out, line), must.Sprintf("%q in:\n%s", line, out))
	}
	st := taskState(t, handle)
	must.NoError(t, h2.DestroyTask(task.ID, true))
	assertSupervisorGone(t, st)
}

// TestVMLogs_DestroyOfRunningTaskEndsTheFollower: a forced destroy of a
// running VM-only task leaves neither VM nor follower.
func TestVMLogs_DestroyOfRunningTaskEndsTheFollower(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "doomed", TaskConfig{Image: linuxImage, ConsoleLog: true})
	mkAllocDir(t, h, task)
	handle, _ := start(t, h, task)
	stdoutEventually(t, task, consoleUp)
	st := taskState(t, handle)
	must.True(t, supervisor.Alive(st.StateDir))
	must.NoError(t, h.DestroyTask(task.ID, true))
	assertSupervisorGone(t, st)
	must.False(t, e.vmExists(st.VMName))
	// tart's hard stop: no guest power-off in the log.
	out := readLog(t, task, "stdout")
	must.StrNotContains(t, out, consolePowerOff)
}

// TestPlanFollow_OnlyThisRunsOutput: a restarted task (same task dir)
// follows the run log from its current end and gets a fresh console file;
// command tasks and tasks without a stdout FIFO get no follower; the console
// is captured for Linux guests with console_log only.
func TestPlanFollow_OnlyThisRunsOutput(t *testing.T) {
	dir := t.TempDir()
	runLog := filepath.Join(dir, runLogName)
	must.NoError(t, os.WriteFile(runLog, []byte("Stopping VM...\n"), 0o600))
	must.NoError(t, os.WriteFile(filepath.Join(dir, consoleName), []byte("old boot\n"), 0o600))
	cfg := &drivers.TaskConfig{StdoutPath: "/fifo"}

	p, err := planFollow(cfg, &taskSettings{ConsoleLog: true}, "linux", dir)
	must.NoError(t, err)
	must.Eq(t, &followPlan{runLog: runLog, runLogOff: int64(len("Stopping VM...\n")), console: filepath.Join(dir, consoleName)}, p)
	b, err := os.ReadFile(p.console)
	must.NoError(t, err)
	must.Eq(t, "", string(b))

	for name, c := range map[string]struct {
		s       *taskSettings
		guestOS string
		stdout  string
	}{
		"console_log off": {&taskSettings{}, "linux", "/fifo"},
		"macOS guest":     {&taskSettings{ConsoleLog: true}, "darwin", "/fifo"},
	} {
		p, err := planFollow(&drivers.TaskConfig{StdoutPath: c.stdout}, c.s, c.guestOS, dir)
		must.NoError(t, err)
		must.Eq(t, "", p.console, must.Sprint(name))
	}
	p, err = planFollow(cfg, &taskSettings{ConsoleLog: true, Command: []string{"true"}}, "linux", dir)
	must.NoError(t, err)
	must.Nil(t, p)
	p, err = planFollow(&drivers.TaskConfig{}, &taskSettings{ConsoleLog: true}, "linux", dir)
	must.NoError(t, err)
	must.Nil(t, p)
}

// TestVMLogs_VMDyingDuringBootIsInTheLog: a VM that dies before it has an
// IP fails the start; its console and tart's last words are in the task's
// log, and the follower is gone when StartTask returns.
func TestVMLogs_VMDyingDuringBootIsInTheLog(t *testing.T) {
	t.Setenv("TART_SIM_NO_IP", "1")
	t.Setenv("TART_SIM_DIE_AFTER", "300ms")
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "dies", TaskConfig{Image: linuxImage, ConsoleLog: true, ReadyTimeout: "2m"})
	mkAllocDir(t, h, task)
	res := bootFailure(t, e, h, task, 30*time.Second)
	must.ErrorContains(t, res.Err, "VM stopped while starting")
	stateDir := filepath.Join(task.TaskDir().Dir, stateDirName)
	must.False(t, supervisor.Alive(stateDir))
	stdoutEventually(t, task, consoleBoot)
	stdoutEventually(t, task, "guest has stopped the virtual machine due to error: ")
	must.False(t, e.vmExists(vmName(task.AllocID, task.Name)))
}

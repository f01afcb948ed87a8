package tartdriver

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/shoenig/test/must"
)

// TestRecover_NewPluginInstanceReattaches kills the harness (the plugin
// connection and the driver's own context) mid-task, then recovers the task
// in a new plugin instance: the VM and the command keep running, nothing is
// restarted, and the log has every line exactly once.
func TestRecover_NewPluginInstanceReattaches(t *testing.T) {
	e := newTestEnv(t)
	h1, d1 := e.newHarness(e.pluginConfig())
	const lines = 40
	task := newTask(t, "survivor", TaskConfig{Image: linuxImage, Command: fmt.Sprintf(
		`i=0; while [ $i -lt %d ]; do echo "line $i"; i=$((i+1)); sleep 0.05; done; exit 5`, lines)})
	mkAllocDir(t, h1, task)
	handle, _, err := h1.StartTask(task)
	must.NoError(t, err)
	logEventually(t, task, "stdout", "line 3\n")
	st1, err := h1.InspectTask(task.ID)
	must.NoError(t, err)

	// The plugin "crashes": its background work ends and Nomad never talks
	// to it again. (Not h1.Kill(): in Nomad v1.11.2 it stops the gRPC server
	// twice concurrently, a data race inside go-plugin that -race reports.
	// The e2e suite kills a real plugin process instead.)
	d1.Shutdown()

	h2, _ := e.newHarness(e.pluginConfig())
	t.Cleanup(func() { _ = h2.DestroyTask(task.ID, true) })
	must.NoError(t, h2.RecoverTask(handle))
	must.NoError(t, h2.RecoverTask(handle)) // a second call is a no-op
	st2, err := h2.InspectTask(task.ID)
	must.NoError(t, err)
	must.Eq(t, drivers.TaskStateRunning, st2.State)
	must.Eq(t, st1.DriverAttributes["vm"], st2.DriverAttributes["vm"])

	res := waitExit(t, h2, task.ID, 30*time.Second)
	must.Eq(t, 5, res.ExitCode)
	eventually(t, 10*time.Second, "all lines", func() bool {
		return strings.Contains(readLog(t, task, "stdout"), fmt.Sprintf("line %d\n", lines-1))
	})
	out := readLog(t, task, "stdout")
	for i := 0; i < lines; i++ {
		must.Eq(t, 1, strings.Count(out, fmt.Sprintf("line %d\n", i)), must.Sprintf("line %d in:\n%s", i, out))
	}
	// The VM is the same one: never re-cloned or restarted.
	var state TaskState
	must.NoError(t, handle.GetDriverState(&state))
	must.True(t, e.vmExists(state.VMName))
	must.NoError(t, h2.DestroyTask(task.ID, true))
	must.False(t, e.vmExists(state.VMName))
}

// TestRecover_VMTaskAfterVMDiedReportsExit: recovery of a task whose VM
// was stopped (tart stop) while no plugin was watching reports the end, as
// a failure: only a guest power-off is success.
func TestRecover_VMTaskWhoseVMIsGone(t *testing.T) {
	e := newTestEnv(t)
	h1, d1 := e.newHarness(e.pluginConfig())
	task := newTask(t, "gone", TaskConfig{Image: linuxImage})
	mkAllocDirNoLogs(t, h1, task)
	handle, _, err := h1.StartTask(task)
	must.NoError(t, err)
	d1.Shutdown()
	var state TaskState
	must.NoError(t, handle.GetDriverState(&state))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	must.NoError(t, e.client.Stop(ctx, state.VMName, 5*time.Second))

	h2, _ := e.newHarness(e.pluginConfig())
	t.Cleanup(func() { _ = h2.DestroyTask(task.ID, true) })
	must.NoError(t, h2.RecoverTask(handle))
	res := waitExit(t, h2, task.ID, 10*time.Second)
	must.False(t, res.Successful())
	must.ErrorContains(t, res.Err, ErrVMCrashed.Error()) // errors cross gRPC as text
	must.ErrorContains(t, res.Err, "stopped from outside Nomad")
	must.NoError(t, h2.DestroyTask(task.ID, true))
	must.False(t, e.vmExists(state.VMName))
}

func TestRecover_RejectsForeignHandles(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "x", TaskConfig{Image: linuxImage})
	bad := drivers.NewTaskHandle(99)
	bad.Config = task
	must.ErrorContains(t, h.RecoverTask(bad), "version")
	empty := drivers.NewTaskHandle(taskHandleVersion)
	empty.Config = task
	must.ErrorContains(t, h.RecoverTask(empty), "driver state")
}

// TestVMDeath_EndsTheTask: a VM that dies under a running task ends it at
// once: a command task with an error (its outcome is unknown), a VM-only
// task with a failure naming the VM's last error line (tart run itself
// exits 0 then), a VM-only task whose tart run is SIGKILLed with a failure
// saying so; a guest power-off is the only success.
func TestVMDeath_EndsTheTask(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	cmd := newTask(t, "cmd", TaskConfig{Image: linuxImage, Command: "echo up; sleep 600"})
	mkAllocDir(t, h, cmd)
	start(t, h, cmd)
	logEventually(t, cmd, "stdout", "up\n")
	vmOnly := newTask(t, "vm", TaskConfig{Image: linuxImage})
	mkAllocDirNoLogs(t, h, vmOnly)
	start(t, h, vmOnly)

	for _, task := range []*drivers.TaskConfig{cmd, vmOnly} {
		c := exec.Command(e.sim, "sim", "fault", vmName(task.AllocID, task.Name), "die")
		c.Env = append(os.Environ(), "TART_HOME="+e.home)
		out, err := c.CombinedOutput()
		must.NoError(t, err, must.Sprint(string(out)))
	}
	res := waitExit(t, h, cmd.ID, 20*time.Second)
	must.False(t, res.Successful())
	must.Error(t, res.Err)
	res = waitExit(t, h, vmOnly.ID, 20*time.Second)
	must.False(t, res.Successful())
	must.ErrorContains(t, res.Err, ErrVMCrashed.Error()) // errors cross gRPC as text
	must.ErrorContains(t, res.Err, "due to error: Internal Virtualization error")

	crashed := newTask(t, "crash", TaskConfig{Image: linuxImage})
	mkAllocDirNoLogs(t, h, crashed)
	start(t, h, crashed)
	c := exec.Command(e.sim, "sim", "fault", vmName(crashed.AllocID, crashed.Name), "crash")
	c.Env = append(os.Environ(), "TART_HOME="+e.home)
	out, err := c.CombinedOutput()
	must.NoError(t, err, must.Sprint(string(out)))
	res = waitExit(t, h, crashed.ID, 20*time.Second)
	must.False(t, res.Successful())
	must.ErrorContains(t, res.Err, "killed by a signal")

	powerOff := newTask(t, "off", TaskConfig{Image: linuxImage, Command: ""})
	mkAllocDirNoLogs(t, h, powerOff)
	start(t, h, powerOff)
	// SIGUSR2 asks the guest to power off: a clean end.
	must.NoError(t, h.SignalTask(powerOff.ID, "SIGUSR2"))
	res = waitExit(t, h, powerOff.ID, 20*time.Second)
	must.True(t, res.Successful(), must.Sprintf("%+v", res))
}

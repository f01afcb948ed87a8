package tartdriver

import (
	"testing"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/shoenig/test/must"
)

func TestDriver_CommandExitCodeAndSeparateStreams(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "cmd", TaskConfig{Image: linuxImage, Command: "echo to-stdout; echo to-stderr >&2; exit 3"})
	defer h.MkAllocDir(task, true)()

	_, net := start(t, h, task)
	must.NotEq(t, "", net.IP)
	res := waitExit(t, h, task.ID, 30*time.Second)
	must.Eq(t, 3, res.ExitCode)
	must.NoError(t, res.Err)
	logEventually(t, task, "stdout", "to-stdout\n")
	logEventually(t, task, "stderr", "to-stderr\n")
	must.StrNotContains(t, readLog(t, task, "stdout"), "to-stderr")
	must.StrNotContains(t, readLog(t, task, "stderr"), "to-stdout")

	st, err := h.InspectTask(task.ID)
	must.NoError(t, err)
	must.Eq(t, drivers.TaskStateExited, st.State)
	vm := st.DriverAttributes["vm"]
	must.True(t, e.vmExists(vm))
	must.NoError(t, h.DestroyTask(task.ID, true))
	must.False(t, e.vmExists(vm))
}

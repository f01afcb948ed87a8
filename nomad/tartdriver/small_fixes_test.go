package tartdriver

import (
	"testing"
	"time"

	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/slots"
)

// TestExec_MissingProgramNamesTheProgram: exec of a program the guest does
// not have says so like a shell, without the transport's wrapper path.
func TestExec_MissingProgramNamesTheProgram(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "exec", TaskConfig{Image: linuxImage, Command: "sleep 600"})
	mkAllocDir(t, h, task)
	start(t, h, task)
	res, err := h.ExecTask(task.ID, []string{"no-such-program", "arg"}, 20*time.Second)
	must.NoError(t, err)
	must.Eq(t, 127, res.ExitResult.ExitCode)
	must.Eq(t, "no-such-program: command not found\n", string(res.Stderr))
	must.StrNotContains(t, string(res.Stderr), "tartan-")
	// Arguments still arrive unchanged.
	res, err = h.ExecTask(task.ID, []string{"/bin/echo", "a b", "$HOME"}, 20*time.Second)
	must.NoError(t, err)
	must.Eq(t, "a b $HOME\n", string(res.Stdout))
}

// TestSlots_HolderIsTheVMProcess: the slot's holder record names the
// `tart run` process that keeps the slot, not the plugin.
func TestSlots_HolderIsTheVMProcess(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "mac", TaskConfig{Image: macImage})
	mkAllocDirNoLogs(t, h, task)
	handle, _ := start(t, h, task)
	var st TaskState
	must.NoError(t, handle.GetDriverState(&st))
	pool, err := slots.New(e.slots, nil)
	must.NoError(t, err)
	holders, err := pool.Holders(slots.KindMacOS)
	must.NoError(t, err)
	must.Len(t, 1, holders)
	must.Eq(t, st.RunPID, holders[0].PID)
	must.Eq(t, st.VMName, holders[0].VM)
}

package tartdriver

import (
	"testing"
	"time"

	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/slots"
)

// TestSlots_ThirdMacOSTaskFailsRecoverably: with two macOS slots, a third
// macOS task fails with a recoverable error (the restart policy retries),
// a Linux task still starts, and the third runs once a slot frees up.
func TestSlots_ThirdMacOSTaskFailsRecoverably(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	var tasks []string
	for _, name := range []string{"mac1", "mac2"} {
		task := newTask(t, name, TaskConfig{Image: macImage})
		mkAllocDirNoLogs(t, h, task)
		start(t, h, task)
		tasks = append(tasks, task.ID)
	}
	third := newTask(t, "mac3", TaskConfig{Image: macImage})
	mkAllocDirNoLogs(t, h, third)
	_, _, err := h.StartTask(third)
	must.Error(t, err)
	must.StrContains(t, err.Error(), "no free VM slot")
	must.True(t, structs.IsRecoverable(err), must.Sprintf("%T %v", err, err))
	// The refused task left no VM behind.
	must.False(t, e.vmExists(vmName(third.AllocID, third.Name)))

	// Linux guests do not count against the macOS limit.
	linux := newTask(t, "linux", TaskConfig{Image: linuxImage})
	mkAllocDirNoLogs(t, h, linux)
	start(t, h, linux)

	// Another process on the host (a GitLab job) sees the same slots.
	pool, err := slots.New(e.slots, map[slots.Kind]int{slots.KindMacOS: 2})
	must.NoError(t, err)
	holders, err := pool.Holders(slots.KindMacOS)
	must.NoError(t, err)
	must.Len(t, 2, holders)

	must.NoError(t, h.StopTask(tasks[0], time.Second, ""))
	must.NoError(t, h.DestroyTask(tasks[0], true))
	eventually(t, 10*time.Second, "a free macOS slot", func() bool {
		hs, _ := pool.Holders(slots.KindMacOS)
		return len(hs) == 1
	})
	start(t, h, third)
}

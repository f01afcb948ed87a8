package containerdriver

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/applecontainer"
	"github.com/tartanhq/tartan/supervisor"
)

// TestRecover_NewPluginInstanceReattaches: the plugin dies mid-task; a new
// instance recovers it. The container keeps running (never restarted),
// every log line appears once, and the exit code is still known.
func TestRecover_NewPluginInstanceReattaches(t *testing.T) {
	e := newTestEnv(t)
	h1, d1 := e.newHarness(e.pluginConfig())
	const lines = 30
	task := newTask(t, "survivor", TaskConfig{Command: "sh", Args: []string{"-c", fmt.Sprintf(
		`i=0; while [ $i -lt %d ]; do echo "line $i"; i=$((i+1)); sleep 0.05; done; exit 5`, lines)}})
	mkAllocDir(t, h1, task, true)
	handle, _, err := h1.StartTask(task)
	must.NoError(t, err)
	id := containerOf(t, handle)
	logEventually(t, task, "stdout", "line 3\n")

	// The plugin "crashes": its background work ends and Nomad never talks
	// to it again (a real kill -9 of the plugin is in e2e/nomad).
	d1.Shutdown()

	h2, _ := e.newHarness(e.pluginConfig())
	t.Cleanup(func() { _ = h2.DestroyTask(task.ID, true) })
	must.NoError(t, h2.RecoverTask(handle))
	must.NoError(t, h2.RecoverTask(handle)) // a second call is a no-op
	st, err := h2.InspectTask(task.ID)
	must.NoError(t, err)
	must.Eq(t, id, st.DriverAttributes["container_id"])

	res := waitExit(t, h2, task.ID, time.Minute)
	must.Eq(t, 5, res.ExitCode)
	must.NoError(t, res.Err)
	logEventually(t, task, "stdout", fmt.Sprintf("line %d\n", lines-1))
	out := readLog(t, task, "stdout")
	for i := 0; i < lines; i++ {
		must.Eq(t, 1, strings.Count(out, fmt.Sprintf("line %d\n", i)), must.Sprintf("line %d in:\n%s", i, out))
	}
	must.NoError(t, h2.DestroyTask(task.ID, true))
	must.False(t, e.containerExists(id))
}

// TestRecover_SupervisorGoneFollowsTheContainer: the supervisor is killed
// (its attached CLI with it) while the container runs. The task keeps
// running, and when the container ends the result says the exit code is
// unknown instead of inventing one.
func TestRecover_SupervisorGoneFollowsTheContainer(t *testing.T) {
	e := newTestEnv(t)
	h, d := e.newHarness(e.pluginConfig())
	task := newTask(t, "orphan", TaskConfig{Command: "sh", Args: []string{"-c", "echo up; while true; do sleep 0.1; done"}})
	mkAllocDir(t, h, task, true)
	handle := start(t, h, task)
	id := containerOf(t, handle)
	logEventually(t, task, "stdout", "up\n")
	var st TaskState
	must.NoError(t, handle.GetDriverState(&st))
	pid := supervisor.PID(st.StateDir)
	must.Positive(t, pid)
	must.NoError(t, syscall.Kill(-pid, syscall.SIGKILL))
	eventually(t, 10*time.Second, "the supervisor to die", func() bool { return !supervisor.Alive(st.StateDir) })

	// Still running once the watcher noticed: only the CLI that watched
	// it is gone.
	th, ok := d.tasks.Get(task.ID)
	must.True(t, ok)
	eventually(t, 10*time.Second, "the watcher to follow the container itself", func() bool {
		th.mu.RLock()
		defer th.mu.RUnlock()
		return th.orphaned
	})
	status, err := h.InspectTask(task.ID)
	must.NoError(t, err)
	must.Eq(t, drivers.TaskStateRunning, status.State)
	must.Eq(t, applecontainer.StateRunning, e.state(id))

	must.NoError(t, h.StopTask(task.ID, time.Second, "SIGTERM"))
	res := waitExit(t, h, task.ID, 30*time.Second)
	must.ErrorContains(t, res.Err, ErrNoOutcome.Error()) // a string after gRPC
	must.Eq(t, -1, res.ExitCode)
}

func TestRecover_RejectsForeignHandles(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "x", TaskConfig{})
	bad := drivers.NewTaskHandle(99)
	bad.Config = task
	must.ErrorContains(t, h.RecoverTask(bad), "version")
	empty := drivers.NewTaskHandle(taskHandleVersion)
	empty.Config = task
	must.ErrorContains(t, h.RecoverTask(empty), "driver state")
}

// TestRecover_TaskEndedWhileNoPluginWatched: the container exits while no
// plugin runs (a client restart that outlasts it); the recovered task
// reports the real exit code at once.
func TestRecover_TaskEndedWhileNoPluginWatched(t *testing.T) {
	e := newTestEnv(t)
	h1, d1 := e.newHarness(e.pluginConfig())
	task := newTask(t, "ended", TaskConfig{Command: "sh", Args: []string{"-c", "echo up; while [ ! -f /local/go ]; do sleep 0.05; done; exit 6"}})
	mkAllocDir(t, h1, task, true)
	handle, _, err := h1.StartTask(task)
	must.NoError(t, err)
	logEventually(t, task, "stdout", "up\n")
	d1.Shutdown()
	// Release the container while nothing watches it, and wait for the
	// supervisor to record its end.
	var st TaskState
	must.NoError(t, handle.GetDriverState(&st))
	_, err = supervisor.ReadExit(st.StateDir)
	must.ErrorIs(t, err, supervisor.ErrNoExit) // still running when the plugin died
	must.NoError(t, os.WriteFile(filepath.Join(task.TaskDir().LocalDir, "go"), []byte("now\n"), 0o644))
	eventually(t, 30*time.Second, "the supervisor to record the exit", func() bool {
		_, err := supervisor.ReadExit(st.StateDir)
		return err == nil
	})

	h2, _ := e.newHarness(e.pluginConfig())
	t.Cleanup(func() { _ = h2.DestroyTask(task.ID, true) })
	must.NoError(t, h2.RecoverTask(handle))
	res := waitExit(t, h2, task.ID, 30*time.Second)
	must.Eq(t, 6, res.ExitCode)
	must.NoError(t, res.Err)
	must.NoError(t, h2.DestroyTask(task.ID, true))
	must.False(t, e.containerExists(st.ContainerID))
}

// TestRecover_EarlierDriversTaskIsReplaced: a handle written by the earlier
// community driver cannot be adopted; its container (nomad-<task>-<alloc8>)
// is deleted so that the restart Nomad then does is not a second copy.
func TestRecover_EarlierDriversTaskIsReplaced(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "redis", TaskConfig{})
	legacy := "nomad-redis-" + task.AllocID[:8]
	other := "nomad-redis-" + strings.Repeat("0", 8)
	for _, name := range []string{legacy, other} {
		e.cli("run", "--detach", "--name", name, busybox, "sleep", "300")
	}
	t.Cleanup(func() { e.cli("delete", "--force", other) })

	old := drivers.NewTaskHandle(taskHandleVersion)
	old.Config = task
	must.NoError(t, old.SetDriverState(&struct{ ContainerName string }{legacy}))
	must.ErrorContains(t, h.RecoverTask(old), "another driver version")
	must.False(t, e.containerExists(legacy))
	must.True(t, e.containerExists(other))
}

package tartdriver

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/nomad/helper/uuid"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/hashicorp/nomad/plugins/drivers/testutils"
	"github.com/shoenig/test/must"
)

func TestDriver_CommandExitCodeAndSeparateStreams(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "cmd", TaskConfig{Image: linuxImage, Command: "echo to-stdout; echo to-stderr >&2; exit 3"})
	mkAllocDir(t, h, task)

	start(t, h, task)
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
	must.NotEq(t, "", st.DriverAttributes["ip"])
	vm := st.DriverAttributes["vm"]
	must.True(t, e.vmExists(vm))
	must.NoError(t, h.DestroyTask(task.ID, true))
	must.False(t, e.vmExists(vm))
}

func TestDriver_EnvironmentAndTaskDirsInGuest(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "dirs", TaskConfig{Image: linuxImage, Command: `
set -e
echo "greeting=$GREETING" > "$NOMAD_ALLOC_DIR/from-guest.txt"
cat "$NOMAD_SECRETS_DIR/token"
cat "$NOMAD_TASK_DIR/input.txt"
pwd
`})
	task.Env = map[string]string{"GREETING": "hello 'quoted' $world"}
	mkAllocDir(t, h, task)
	must.NoError(t, os.WriteFile(filepath.Join(task.TaskDir().SecretsDir, "token"), []byte("s3cret-token\n"), 0o600))
	must.NoError(t, os.WriteFile(filepath.Join(task.TaskDir().LocalDir, "input.txt"), []byte("from-local\n"), 0o644))

	start(t, h, task)
	res := waitExit(t, h, task.ID, 30*time.Second)
	must.Eq(t, 0, res.ExitCode, must.Sprint(readLog(t, task, "stderr")))
	b, err := os.ReadFile(filepath.Join(task.TaskDir().SharedAllocDir, "from-guest.txt"))
	must.NoError(t, err)
	must.Eq(t, "greeting=hello 'quoted' $world\n", string(b))
	logEventually(t, task, "stdout", "s3cret-token\nfrom-local\n/mnt/shared/local\n")
}

func TestDriver_VMTaskRunsUntilStoppedThenDestroyIsIdempotent(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "vm", TaskConfig{Image: macImage})
	mkAllocDirNoLogs(t, h, task)

	start(t, h, task)
	must.NoError(t, h.WaitUntilStarted(task.ID, 10*time.Second))
	ip := waitBooted(t, h, task.ID)
	st, err := h.InspectTask(task.ID)
	must.NoError(t, err)
	must.Eq(t, ip, st.DriverAttributes["ip"])
	must.Eq(t, "darwin", st.DriverAttributes["guest_os"])
	vm := st.DriverAttributes["vm"]
	info, err := e.client.Get(context.Background(), vm)
	must.NoError(t, err)
	must.True(t, info.Running)

	// The task stays up on its own.
	ch, err := h.WaitTask(context.Background(), task.ID)
	must.NoError(t, err)
	select {
	case res := <-ch:
		t.Fatalf("VM task ended by itself: %+v", res)
	case <-time.After(500 * time.Millisecond):
	}

	stopped := time.Now()
	must.NoError(t, h.StopTask(task.ID, 10*time.Second, ""))
	res := waitExit(t, h, task.ID, 20*time.Second)
	must.Eq(t, 0, res.ExitCode)
	must.Less(t, 10*time.Second, time.Since(stopped), must.Sprint("a guest shutdown request should not need the whole kill_timeout"))

	// Deleting the VM behind the driver's back does not make destroy fail.
	must.NoError(t, removeVM(context.Background(), e.client, vm))
	must.NoError(t, h.DestroyTask(task.ID, true))
	must.False(t, e.vmExists(vm))
}

// TestDriver_VMTaskWithTransportWaitsForGuest: with an explicit transport a
// VM-only task is running only once its guest answers; a guest that never
// does fails the start within ready_timeout.
func TestDriver_VMTaskWithTransportWaitsForGuest(t *testing.T) {
	t.Setenv("TART_SIM_SSH_REFUSE", "1")
	e := newTestEnv(t)
	h, d := e.newHarness(e.pluginConfig())
	ok := newTask(t, "agent", TaskConfig{Image: linuxImage, GuestTransport: "agent"})
	mkAllocDirNoLogs(t, h, ok)
	start(t, h, ok)
	waitBooted(t, h, ok.ID)
	eventually(t, 20*time.Second, "the guest agent to answer", func() bool { return !taskBooting(d, ok.ID) })
	res, err := h.ExecTask(ok.ID, []string{"true"}, 10*time.Second)
	must.NoError(t, err)
	must.Eq(t, 0, res.ExitResult.ExitCode)

	refused := newTask(t, "ssh", TaskConfig{Image: linuxImage, GuestTransport: "ssh", ReadyTimeout: "2s"})
	mkAllocDirNoLogs(t, h, refused)
	failed := bootFailure(t, e, h, refused, 30*time.Second)
	must.ErrorContains(t, failed.Err, "did not accept commands within ready_timeout")
}

func TestDriver_SignalsReachTheGuestCommand(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "sig", TaskConfig{Image: linuxImage, Command: `
trap 'echo got-usr1' USR1
trap 'echo got-int; exit 7' INT
echo ready
while true; do sleep 0.05; done
`})
	mkAllocDir(t, h, task)
	start(t, h, task)
	logEventually(t, task, "stdout", "ready\n")

	must.NoError(t, h.SignalTask(task.ID, "SIGUSR1"))
	logEventually(t, task, "stdout", "got-usr1\n")
	must.Error(t, h.SignalTask(task.ID, "SIGBOGUS"))

	// kill_signal = SIGINT: the command handles it and exits 7 well within
	// the kill_timeout.
	must.NoError(t, h.StopTask(task.ID, 20*time.Second, "SIGINT"))
	res := waitExit(t, h, task.ID, 5*time.Second)
	must.Eq(t, 7, res.ExitCode)
	logEventually(t, task, "stdout", "got-int\n")
}

func TestDriver_StopKillsCommandThatIgnoresTheSignal(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "stubborn", TaskConfig{Image: linuxImage, Command: `trap '' TERM; echo ready; while true; do sleep 0.05; done`})
	mkAllocDir(t, h, task)
	start(t, h, task)
	logEventually(t, task, "stdout", "ready\n")
	began := time.Now()
	must.NoError(t, h.StopTask(task.ID, time.Second, "SIGTERM"))
	res := waitExit(t, h, task.ID, 20*time.Second)
	must.Eq(t, 9, res.Signal, must.Sprintf("%+v", res))
	must.Eq(t, 137, res.ExitCode)
	must.NoError(t, res.Err)
	must.Less(t, 15*time.Second, time.Since(began))
}

// TestDriver_ExecConformance runs Nomad's exec conformance suite over SSH.
// Its isolation case needs a guest with its own /tmp; while tart-sim's
// guest shares the host's /tmp that case is reported and left out (a real
// VM always has its own).
func TestDriver_ExecConformance(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "exec", TaskConfig{Image: linuxImage, Command: "sleep 600", GuestTransport: "ssh"})
	mkAllocDir(t, h, task)
	start(t, h, task)
	if guestSharesHostTmp(t, h, task.ID) {
		t.Log("tart-sim's guest shares the host's /tmp: running the conformance suite without its isolation case")
		testutils.TestExecTaskStreamingBasicResponses(t, h, task.ID)
	} else {
		testutils.ExecTaskStreamingConformanceTests(t, h, task.ID)
	}

	res, err := h.ExecTask(task.ID, []string{"/bin/sh", "-c", "echo $NOMAD_ALLOC_DIR; echo oops >&2; exit 4"}, 10*time.Second)
	must.NoError(t, err)
	must.Eq(t, 4, res.ExitResult.ExitCode)
	must.Eq(t, "/mnt/shared/alloc\n", string(res.Stdout))
	must.Eq(t, "oops\n", string(res.Stderr))
}

func guestSharesHostTmp(t *testing.T, h *testutils.DriverHarness, taskID string) bool {
	// /tmp itself, not os.TempDir(): TestMain points TMPDIR at a private
	// host dir that a guest with its own /tmp does not have.
	probe := filepath.Join("/tmp", "tartdriver-probe-"+uuid.Generate())
	res, err := h.ExecTask(taskID, []string{"/bin/sh", "-c", "touch " + probe}, 10*time.Second)
	must.NoError(t, err)
	must.Eq(t, 0, res.ExitResult.ExitCode)
	_, statErr := os.Stat(probe)
	_ = os.Remove(probe)
	return statErr == nil
}

// TestDriver_ExecOverGuestAgent covers exec through `tart exec` (the
// default transport for images with the Tart Guest Agent).
func TestDriver_ExecOverGuestAgent(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "agent", TaskConfig{Image: linuxImage, Command: "sleep 600", GuestTransport: "agent"})
	mkAllocDir(t, h, task)
	start(t, h, task)
	for _, c := range testutils.ExecTaskStreamingBasicCases {
		t.Run(c.Name, func(t *testing.T) {
			code, stdout, stderr := testutils.ExecTask(t, h, task.ID, c.Command, c.Tty, c.Stdin)
			must.Eq(t, c.ExitCode, code)
			if want, ok := c.Stdout.(string); ok {
				must.Eq(t, want, stdout)
			}
			if want, ok := c.Stderr.(string); ok {
				must.Eq(t, want, stderr)
			}
		})
	}
}

func TestDriver_StatsAreMeasured(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "stats", TaskConfig{Image: linuxImage})
	mkAllocDirNoLogs(t, h, task)
	start(t, h, task)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch, err := h.TaskStats(ctx, task.ID, 100*time.Millisecond)
	must.NoError(t, err)
	var u *drivers.TaskResourceUsage
	for i := 0; i < 3; i++ { // the CPU percentage needs two samples
		select {
		case u = <-ch:
		case <-ctx.Done():
			t.Fatal("no stats")
		}
	}
	must.Positive(t, u.ResourceUsage.MemoryStats.RSS)
	must.Eq(t, []string{"RSS"}, u.ResourceUsage.MemoryStats.Measured)
	must.SliceContains(t, u.ResourceUsage.CpuStats.Measured, "Percent")
	must.Positive(t, u.Timestamp)
}

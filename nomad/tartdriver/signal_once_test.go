package tartdriver

import (
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

// slowTrapsCommand's traps take longer than the transports' old re-send
// grace (2 s): a second delivery would run a trap twice (or cut the TERM
// trap short) and show in the log.
const slowTrapsCommand = `trap 'echo got-usr1; sleep 3; echo usr1-done' USR1
trap 'echo got-term; sleep 4; echo clean-exit; exit 0' TERM
echo up
while true; do sleep 0.2; done`

// TestSignals_DeliveredOnce: a signal and a graceful stop each reach the
// guest command once, through both transports; the TERM trap that needs
// 4 s finishes and the task exits 0.
func TestSignals_DeliveredOnce(t *testing.T) {
	for _, transport := range []string{"agent", "ssh"} {
		t.Run(transport, func(t *testing.T) {
			e := newTestEnv(t)
			h, _ := e.newHarness(e.pluginConfig())
			task := newTask(t, "once", TaskConfig{Image: linuxImage, GuestTransport: transport, SSHPassword: "admin", Command: slowTrapsCommand})
			mkAllocDir(t, h, task)
			start(t, h, task)
			logEventually(t, task, "stdout", "up\n")
			must.NoError(t, h.SignalTask(task.ID, "SIGUSR1"))
			eventually(t, 15*time.Second, "the USR1 trap to finish", func() bool {
				return strings.Contains(readLog(t, task, "stdout"), "usr1-done\n")
			})
			must.NoError(t, h.StopTask(task.ID, 30*time.Second, "SIGTERM"))
			res := waitExit(t, h, task.ID, 30*time.Second)
			must.Eq(t, 0, res.ExitCode, must.Sprint(readLog(t, task, "stdout")))
			logEventually(t, task, "stdout", "clean-exit\n")
			out := readLog(t, task, "stdout")
			must.Eq(t, 1, strings.Count(out, "got-usr1"), must.Sprint(out))
			must.Eq(t, 1, strings.Count(out, "got-term"), must.Sprint(out))
		})
	}
}

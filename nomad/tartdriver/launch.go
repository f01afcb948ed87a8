package tartdriver

import (
	"os"
	"strings"
	"time"

	"github.com/tartanhq/tartan/supervisor"
)

// launchSupervisor starts the per-task supervisor (package supervisor) in
// its own session and returns once it holds its lock.
func (d *Driver) launchSupervisor(spec *supervisor.Spec) (int, error) {
	return supervisor.Launch(spec, d.launchOptions())
}

// startSupervisor starts the supervisor without waiting for its "ok": a
// VM-only task's log follower starts with the VM and is awaited after the
// IP wait, so the process start overlaps the boot instead of adding to it.
func (d *Driver) startSupervisor(spec *supervisor.Spec) (*supervisor.Pending, error) {
	return supervisor.Start(spec, d.launchOptions())
}

func (d *Driver) launchOptions() supervisor.LaunchOptions {
	return supervisor.LaunchOptions{Exe: d.selfExe, Arg: supervisor.Arg, Env: minimalEnv()}
}

// stopSupervisor lets the supervisor of stateDir end on its own (its VM is
// gone, so it will: a command supervisor loses its connection, a follower
// sees tart run end) and kills it after a bounded wait.
func stopSupervisor(stateDir string) { supervisor.Stop(stateDir, 5*time.Second) }

// minimalEnv is the supervisor's environment: enough to find tart and
// sockets, and nothing of the task (that goes through stdin).
func minimalEnv() []string {
	var env []string
	// TART_HOME matters when the operator set it for the agent instead of
	// using the tart_home option: `tart exec` must find the same VMs.
	for _, k := range []string{"PATH", "HOME", "USER", "TMPDIR", "LANG", "TART_HOME"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	// The simulator's knobs pass through so tests can shape the fake VM.
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TART_SIM_") {
			env = append(env, kv)
		}
	}
	return env
}

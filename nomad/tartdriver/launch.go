package tartdriver

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/tartanhq/tartan/nomad/tartdriver/supervisor"
)

// supervisorHandshake bounds the wait for a new supervisor's "ok".
const supervisorHandshake = 10 * time.Second

// launchSupervisor starts the per-task supervisor in its own session and
// returns once it holds its lock. The spec goes through stdin.
func (d *Driver) launchSupervisor(spec *supervisor.Spec) (int, error) {
	exe := d.selfExe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return 0, fmt.Errorf("finding the plugin binary to start the task supervisor: %w", err)
		}
	}
	logf, err := os.OpenFile(supervisor.LogPath(spec.StateDir), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	cmd := exec.Command(exe, supervisor.Arg)
	cmd.Dir = spec.StateDir
	cmd.Env = minimalEnv()
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting the task supervisor: %w", err)
	}
	go func() { _ = cmd.Wait() }() // reap it if it ends while we live

	enc := json.NewEncoder(stdin)
	werr := enc.Encode(spec)
	stdin.Close()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case got := <-line:
		if got == "ok" && werr == nil {
			return cmd.Process.Pid, nil
		}
	case <-time.After(supervisorHandshake):
	}
	_ = cmd.Process.Kill()
	return 0, fmt.Errorf("the task supervisor did not start (spec write: %v); see %s", werr, supervisor.LogPath(spec.StateDir))
}

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

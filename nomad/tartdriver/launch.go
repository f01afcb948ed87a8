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
	p, err := d.startSupervisor(spec)
	if err != nil {
		return 0, err
	}
	return p.await()
}

// pendingSupervisor is a started supervisor whose "ok" is still to come:
// a VM-only task's log follower starts with the VM and is awaited after
// the IP wait, so the process start overlaps the boot instead of adding
// to it.
type pendingSupervisor struct {
	cmd      *exec.Cmd
	hello    chan handshake
	stateDir string
	result   chan struct{} // closed once await has an outcome
	pid      int
	err      error
}

// handshake is the supervisor's first line and how writing its spec went.
type handshake struct {
	line string
	werr error
}

// startSupervisor starts the supervisor and hands it its spec.
func (d *Driver) startSupervisor(spec *supervisor.Spec) (*pendingSupervisor, error) {
	exe := d.selfExe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("finding the plugin binary to start the task supervisor: %w", err)
		}
	}
	logf, err := os.OpenFile(supervisor.LogPath(spec.StateDir), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(exe, supervisor.Arg)
	cmd.Dir = spec.StateDir
	cmd.Env = minimalEnv()
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the task supervisor: %w", err)
	}
	go func() { _ = cmd.Wait() }() // reap it if it ends while we live

	p := &pendingSupervisor{cmd: cmd, hello: make(chan handshake, 1), stateDir: spec.StateDir, result: make(chan struct{})}
	// The spec fits the pipe buffer in practice, but a huge environment
	// must not block us before the handshake wait starts.
	go func() {
		werr := json.NewEncoder(stdin).Encode(spec)
		stdin.Close()
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		p.hello <- handshake{strings.TrimSpace(s), werr}
	}()
	return p, nil
}

// await waits (bounded) for the supervisor's "ok" and kills it without
// one. Safe to call more than once.
func (p *pendingSupervisor) await() (int, error) {
	select {
	case <-p.result:
		return p.pid, p.err
	default:
	}
	var werr error
	select {
	case got := <-p.hello:
		if got.line == "ok" && got.werr == nil {
			p.pid = p.cmd.Process.Pid
			close(p.result)
			return p.pid, nil
		}
		werr = got.werr
	case <-time.After(supervisorHandshake):
	}
	_ = p.cmd.Process.Kill()
	p.err = fmt.Errorf("the task supervisor did not start (spec write: %v); see %s", werr, supervisor.LogPath(p.stateDir))
	close(p.result)
	return 0, p.err
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

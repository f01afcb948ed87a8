package supervisor

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// defaultHandshakeWait bounds the wait for a new supervisor's "ok".
const defaultHandshakeWait = 10 * time.Second

// LaunchOptions say how a plugin starts its supervisor.
type LaunchOptions struct {
	Exe           string        // the plugin binary to re-execute ("" = os.Executable())
	Arg           string        // first argument selecting the supervisor ("" = Arg)
	Env           []string      // the supervisor's environment; nothing of the task (that travels in the spec)
	HandshakeWait time.Duration // 0 = 10 s
}

// Launch starts the per-task supervisor in its own session and returns its
// PID once it holds its lock. The spec goes through stdin.
func Launch(spec *Spec, o LaunchOptions) (int, error) {
	p, err := Start(spec, o)
	if err != nil {
		return 0, err
	}
	return p.Await()
}

// Pending is a started supervisor whose "ok" is still to come: a caller can
// overlap the process start with other work and Await it later.
type Pending struct {
	cmd      *exec.Cmd
	hello    chan handshake
	stateDir string
	wait     time.Duration
	result   chan struct{} // closed once Await has an outcome
	pid      int
	err      error
}

// handshake is the supervisor's first line and how writing its spec went.
type handshake struct {
	line string
	werr error
}

// Start starts the supervisor and hands it its spec.
func Start(spec *Spec, o LaunchOptions) (*Pending, error) {
	exe := o.Exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("finding the plugin binary to start the task supervisor: %w", err)
		}
	}
	arg := o.Arg
	if arg == "" {
		arg = Arg
	}
	logf, err := os.OpenFile(LogPath(spec.StateDir), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(exe, arg)
	cmd.Dir = spec.StateDir
	cmd.Env = o.Env
	if cmd.Env == nil {
		cmd.Env = []string{} // never the plugin's whole environment
	}
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

	wait := o.HandshakeWait
	if wait <= 0 {
		wait = defaultHandshakeWait
	}
	p := &Pending{cmd: cmd, hello: make(chan handshake, 1), stateDir: spec.StateDir, wait: wait, result: make(chan struct{})}
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

// Await waits (bounded) for the supervisor's "ok" and kills it without
// one. Safe to call more than once.
func (p *Pending) Await() (int, error) {
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
	case <-time.After(p.wait):
	}
	_ = p.cmd.Process.Kill()
	p.err = fmt.Errorf("the task supervisor did not start (spec write: %v); see %s", werr, LogPath(p.stateDir))
	close(p.result)
	return 0, p.err
}

// Stop lets the supervisor of stateDir end on its own for up to grace and
// then kills it with everything it started (it leads its own session, so
// its process group is exactly that). Destroy must not leave a process
// behind, and a restart of the task must find the state directory free.
func Stop(stateDir string, grace time.Duration) {
	deadline := time.Now().Add(grace)
	for Alive(stateDir) && time.Now().Before(deadline) {
		time.Sleep(stopPoll)
	}
	pid := PID(stateDir)
	if pid <= 0 || !Alive(stateDir) {
		return
	}
	// The lock is held, so pid is the live supervisor, not a recycled PID.
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	// The kernel drops the lock as the process dies.
	deadline = time.Now().Add(2 * time.Second)
	for Alive(stateDir) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

const stopPoll = 100 * time.Millisecond

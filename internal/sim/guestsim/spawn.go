package guestsim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// GuestCommand is the hidden first argument that makes tart-sim act as a
// guest (cmd/tart-sim calls Main when it sees it).
const GuestCommand = "__guest"

// Bounds of the parent/child handshake.
const (
	readyTimeout = 30 * time.Second // mounts + listeners
	stopTimeout  = 10 * time.Second // graceful stop before SIGKILL
)

// spawnMsg is the first JSON value on the guest's stdin.
type spawnMsg struct {
	Config     Config
	Namespaced bool // mounts in a private namespace (root) instead of symlinks
}

// controlMsg is every later JSON value on the guest's stdin; the guest
// answers each with one line on stdout: "ok" or "error: <why>".
type controlMsg struct {
	Fault string `json:",omitempty"`
	Stop  bool   `json:",omitempty"`
}

// Guest is a guest running in a child process (see Spawn).
type Guest struct {
	cmd  *exec.Cmd
	mu   sync.Mutex // serialises control requests
	enc  *json.Encoder
	ctl  io.Closer
	out  *bufio.Reader
	done chan struct{}
	err  error
}

// ErrGuestExited is returned by Fault when the guest process has ended.
var ErrGuestExited = errors.New("guestsim: guest process has exited")

// Spawn starts the guest as a child process: os.Executable() re-executed
// with GuestCommand and the config on stdin, in a private mount namespace
// when running as root, dying with its parent (Pdeathsig, and EOF on its
// stdin). It returns once SSH and the agent are bound (or, with SSHDelay,
// once the shares are mounted).
func Spawn(cfg Config) (*Guest, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("guestsim: locating own executable: %w", err)
	}
	attrs, namespaced, err := spawnAttrs()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, GuestCommand)
	// Nothing of the host environment (registry passwords...) reaches the
	// guest; commands get their own environment from sessionEnv.
	cmd.Env = []string{"PATH=" + guestPath}
	if v, ok := os.LookupEnv("GORACE"); ok {
		// Race-detector settings only: lets race-built test binaries skip
		// the detector's exit delay (atexit_sleep_ms).
		cmd.Env = append(cmd.Env, "GORACE="+v)
	}
	cmd.SysProcAttr = attrs
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("guestsim: starting guest process: %w", err)
	}
	g := &Guest{cmd: cmd, enc: json.NewEncoder(stdin), ctl: stdin, out: bufio.NewReader(stdout), done: make(chan struct{})}
	go func() {
		g.err = cmd.Wait()
		close(g.done)
	}()
	if err := g.enc.Encode(spawnMsg{Config: cfg, Namespaced: namespaced}); err != nil {
		g.kill()
		return nil, fmt.Errorf("guestsim: sending config to guest: %w", err)
	}
	if err := g.reply(readyTimeout); err != nil {
		g.kill()
		return nil, err
	}
	return g, nil
}

// reply reads the guest's answer to the last message.
func (g *Guest) reply(timeout time.Duration) error {
	type answer struct {
		line string
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		line, err := g.out.ReadString('\n')
		ch <- answer{strings.TrimSpace(line), err}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case a := <-ch:
		switch {
		case a.err != nil:
			return fmt.Errorf("%w (%v)", ErrGuestExited, a.err)
		case a.line == "ok":
			return nil
		default:
			return errors.New(strings.TrimPrefix(a.line, "error: "))
		}
	case <-t.C:
		return fmt.Errorf("guestsim: guest did not answer within %v", timeout)
	}
}

// Fault injects FaultDropSSH or FaultKillAgent; it returns once applied.
func (g *Guest) Fault(kind string) error {
	if kind != FaultDropSSH && kind != FaultKillAgent {
		return fmt.Errorf("%w %q: use %q or %q", ErrUnknownFault, kind, FaultDropSSH, FaultKillAgent)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.done:
		return ErrGuestExited
	default:
	}
	if err := g.enc.Encode(controlMsg{Fault: kind}); err != nil {
		return fmt.Errorf("%w (%v)", ErrGuestExited, err)
	}
	return g.reply(readyTimeout)
}

// Stop ends SSH, the agent and every guest process, then the guest itself.
// It is safe to call more than once.
func (g *Guest) Stop() error {
	g.mu.Lock()
	_ = g.enc.Encode(controlMsg{Stop: true})
	_ = g.ctl.Close() // EOF also means stop
	g.mu.Unlock()
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-g.done:
		return nil
	case <-t.C:
		g.kill()
		return fmt.Errorf("guestsim: guest did not stop within %v; killed", stopTimeout)
	}
}

// Wait returns when the guest process has exited.
func (g *Guest) Wait() error {
	<-g.done
	return g.err
}

// kill is the last resort; the guest's commands die with it (Pdeathsig).
func (g *Guest) kill() {
	_ = g.cmd.Process.Kill()
	_ = g.ctl.Close()
	<-g.done
}

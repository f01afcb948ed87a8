package guestsim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/shoenig/test/must"
)

func execCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestExecArgvDirectlyWithoutShell(t *testing.T) {
	cfg := serve(t, testConfig(t))
	var out, errb bytes.Buffer
	code, err := Exec(execCtx(t), cfg.AgentSocket, []string{"printf", "%s|%s", "$HOME", "a b"}, false, false, nil, &out, &errb)
	must.NoError(t, err)
	must.Eq(t, 0, code)
	must.Eq(t, "$HOME|a b", out.String()) // no shell: nothing expanded, args intact
}

func TestExecExitCodeAndStreams(t *testing.T) {
	cfg := serve(t, testConfig(t))
	var out, errb bytes.Buffer
	code, err := Exec(execCtx(t), cfg.AgentSocket, []string{"sh", "-c", "echo out; echo err >&2; exit 7"}, false, false, nil, &out, &errb)
	must.NoError(t, err)
	must.Eq(t, 7, code)
	must.Eq(t, "out\n", out.String())
	must.Eq(t, "err\n", errb.String())
}

func TestExecStdin(t *testing.T) {
	cfg := serve(t, testConfig(t))
	input := strings.Repeat("0123456789abcdef", 20000) // several frames
	var out bytes.Buffer
	code, err := Exec(execCtx(t), cfg.AgentSocket, []string{"cat"}, true, false, strings.NewReader(input), &out, &bytes.Buffer{})
	must.NoError(t, err)
	must.Eq(t, 0, code)
	must.Eq(t, len(input), out.Len())
	must.True(t, out.String() == input)
}

func TestExecWithoutInteractiveGetsNoStdin(t *testing.T) {
	cfg := serve(t, testConfig(t))
	var out bytes.Buffer
	code, err := Exec(execCtx(t), cfg.AgentSocket, []string{"sh", "-c", "cat; echo end"}, false, false, strings.NewReader("ignored"), &out, &bytes.Buffer{})
	must.NoError(t, err)
	must.Eq(t, 0, code)
	must.Eq(t, "end\n", out.String())
}

func TestExecTTYSizeAndResize(t *testing.T) {
	cfg := serve(t, testConfig(t))
	// The host terminal: a PTY whose size Exec must forward.
	ptmx, tty, err := pty.Open()
	must.NoError(t, err)
	defer ptmx.Close()
	defer tty.Close()
	must.NoError(t, pty.Setsize(tty, &pty.Winsize{Rows: 27, Cols: 91}))
	screen := &syncBuffer{}
	go func() { _, _ = io.Copy(screen, ptmx) }() // what the user sees; ends when ptmx closes
	done := make(chan struct{})
	var code int
	go func() {
		defer close(done)
		code, err = Exec(execCtx(t), cfg.AgentSocket,
			[]string{"sh", "-c", "trap 'stty size; exit 0' WINCH; stty size; echo err >&2; echo ready; while :; do sleep 0.05; done"},
			false, true, nil, tty, &bytes.Buffer{})
	}()
	eventually(t, "first size", 10*time.Second, func() bool { return strings.Contains(screen.String(), "ready") })
	must.StrContains(t, screen.String(), "27 91")
	must.StrContains(t, screen.String(), "err") // with a terminal, stderr arrives on stdout
	must.NoError(t, pty.Setsize(tty, &pty.Winsize{Rows: 50, Cols: 132}))
	must.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGWINCH))
	<-done
	must.NoError(t, err)
	must.Eq(t, 0, code)
	eventually(t, "new size", 10*time.Second, func() bool { return strings.Contains(screen.String(), "50 132") })
}

func TestExecSignalForwarded(t *testing.T) {
	cfg := serve(t, testConfig(t))
	out := &syncBuffer{}
	done := make(chan struct{})
	var code int
	var err error
	go func() {
		defer close(done)
		code, err = Exec(execCtx(t), cfg.AgentSocket,
			[]string{"sh", "-c", "trap 'echo got-usr1; exit 5' USR1; echo ready; while :; do sleep 0.05; done"},
			false, false, nil, out, &bytes.Buffer{})
	}()
	eventually(t, "guest command ready", 10*time.Second, func() bool { return strings.Contains(out.String(), "ready") })
	// Exec registered its handler before starting the command, so this
	// signal to our own process is relayed, not fatal.
	must.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGUSR1))
	<-done
	must.NoError(t, err)
	must.Eq(t, 5, code)
	must.StrContains(t, out.String(), "got-usr1")
}

func TestExecSignalKilledGives255(t *testing.T) {
	cfg := serve(t, testConfig(t))
	code, err := Exec(execCtx(t), cfg.AgentSocket, []string{"sh", "-c", "kill -KILL $$"}, false, false, nil, &bytes.Buffer{}, &bytes.Buffer{})
	must.NoError(t, err)
	must.Eq(t, 255, code)
}

func TestExecUnreachable(t *testing.T) {
	_, err := Exec(execCtx(t), filepath.Join(t.TempDir(), "control.sock"), []string{"true"}, false, false, nil, &bytes.Buffer{}, &bytes.Buffer{})
	must.ErrorIs(t, err, ErrAgentUnreachable)
	var ue *AgentUnreachableError
	must.True(t, errors.As(err, &ue))
	must.StrContains(t, err.Error(), "no such file or directory")
}

func TestExecCommandNotFound(t *testing.T) {
	cfg := serve(t, testConfig(t))
	code, err := Exec(execCtx(t), cfg.AgentSocket, []string{"no-such-program-xyz"}, false, false, nil, &bytes.Buffer{}, &bytes.Buffer{})
	must.ErrorIs(t, err, ErrExecFailed)
	must.StrContains(t, err.Error(), "not found")
	must.Eq(t, 1, code)
}

func TestExecContextCancelKillsGuestCommand(t *testing.T) {
	cfg := serve(t, testConfig(t))
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Exec(ctx, cfg.AgentSocket, []string{"sh", "-c", "echo $$; exec sleep 300"}, false, false, nil, out, &bytes.Buffer{})
		done <- err
	}()
	eventually(t, "pid", 10*time.Second, func() bool { return strings.Contains(out.String(), "\n") })
	cancel()
	must.ErrorIs(t, <-done, context.Canceled)
	pid := mustAtoi(t, strings.TrimSpace(out.String()))
	eventually(t, "guest command killed", 10*time.Second, func() bool { return processGone(pid) })
}

func TestKillAgentFaultKeepsSSH(t *testing.T) {
	cfg := testConfig(t)
	g, err := startGuest(cfg)
	must.NoError(t, err)
	defer g.shutdown()
	must.NoError(t, g.fault(FaultKillAgent))
	_, err = os.Stat(cfg.AgentSocket)
	must.True(t, errors.Is(err, os.ErrNotExist))
	_, err = Exec(execCtx(t), cfg.AgentSocket, []string{"true"}, false, false, nil, &bytes.Buffer{}, &bytes.Buffer{})
	must.ErrorIs(t, err, ErrAgentUnreachable)
	c, err := dialPassword(t, cfg, cfg.Password)
	must.NoError(t, err)
	c.Close()
}

func TestAgentSocketWithLongPath(t *testing.T) {
	cfg := testConfig(t)
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 60))
	must.NoError(t, os.MkdirAll(dir, 0o755))
	cfg.AgentSocket = filepath.Join(dir, "control.sock")
	serve(t, cfg)
	code, err := Exec(execCtx(t), cfg.AgentSocket, []string{"true"}, false, false, nil, &bytes.Buffer{}, &bytes.Buffer{})
	must.NoError(t, err)
	must.Eq(t, 0, code)
}

func TestExecStaleSocketIsUnreachable(t *testing.T) {
	cfg := testConfig(t)
	ln, err := listenUnix(cfg.AgentSocket)
	must.NoError(t, err)
	must.NoError(t, ln.Close()) // a crashed VM's leftover socket file: nobody listens
	_, err = os.Stat(cfg.AgentSocket)
	must.NoError(t, err)
	_, err = Exec(execCtx(t), cfg.AgentSocket, []string{"true"}, false, false, nil, &bytes.Buffer{}, &bytes.Buffer{})
	must.ErrorIs(t, err, ErrAgentUnreachable)
	must.StrContains(t, err.Error(), "connection refused")

	serve(t, cfg) // a new boot replaces the stale socket
	code, err := Exec(execCtx(t), cfg.AgentSocket, []string{"true"}, false, false, nil, &bytes.Buffer{}, &bytes.Buffer{})
	must.NoError(t, err)
	must.Eq(t, 0, code)
}

func TestKillAgentDuringBoot(t *testing.T) {
	cfg := testConfig(t)
	cfg.SSHDelay = 200 * time.Millisecond
	g, err := startGuest(cfg)
	must.NoError(t, err)
	defer g.shutdown()
	must.NoError(t, g.fault(FaultKillAgent))
	eventually(t, "sshd up", 10*time.Second, func() bool {
		c, err := dialPassword(t, cfg, cfg.Password)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	_, err = os.Stat(cfg.AgentSocket)
	must.True(t, errors.Is(err, os.ErrNotExist))
}

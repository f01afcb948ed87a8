package guest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Run implements Transport.
func (s *SSH) Run(ctx context.Context, cmd Command) (res Result, err error) {
	p, err := buildPlan(cmd, newPlanDir(s.cfg.GuestTempDir))
	if err != nil {
		return Result{}, err
	}
	defer func() {
		// A one-shot line removes its own dir unless it was cut short.
		if !p.oneShot || err != nil || res.Signal != "" {
			s.cleanup(p)
		}
	}()
	switch {
	case p.oneShot:
		cmd.Stdin = bytes.NewReader(p.wrapper) // the line stores it; the command's own stdin is empty
	case p.wrapper != nil:
		if err := s.helper(ctx, "upload of the command wrapper", p.upload, bytes.NewReader(p.wrapper)); err != nil {
			return Result{}, err
		}
	}
	return s.runLine(ctx, p, cmd)
}

func (s *SSH) runLine(ctx context.Context, p plan, cmd Command) (Result, error) {
	sess, err := s.newSession()
	if err != nil {
		return Result{}, err
	}
	defer sess.Close()
	sess.Stdout = cmd.Stdout
	sess.Stderr = cmd.Stderr
	if cmd.PTY != nil {
		term := cmd.PTY.Term
		if term == "" {
			term = "xterm-256color"
		}
		if err := sess.RequestPty(term, cmd.PTY.Rows, cmd.PTY.Cols, ssh.TerminalModes{}); err != nil {
			return Result{}, fmt.Errorf("guest: PTY request refused by %s: %w", s.cfg.Addr, err)
		}
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		return Result{}, err
	}
	if err := sess.Start(viaLoginShell(p.line)); err != nil {
		return Result{}, s.lostError(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(done)
	// Stdin is copied outside the session so that Wait never blocks on a
	// reader the command did not consume.
	go feedStdin(stdin, cmd.Stdin, done)
	if cmd.PTY != nil {
		forwardResizes(&wg, done, cmd.PTY.Resize, func(ws WindowSize) { _ = sess.WindowChange(ws.Rows, ws.Cols) })
	}
	if cmd.Signals != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.forwardSignals(sess, p, cmd.Signals, done)
		}()
	}
	waited := make(chan error, 1)
	go func() { waited <- sess.Wait() }()
	select {
	case err = <-waited:
	case <-ctx.Done():
		// Kill the remote command (both ways), then stop waiting for it.
		_ = sess.Signal(ssh.SIGKILL)
		if p.dir != "" { // transport helpers record no PID
			s.killRemote(p, "KILL")
		}
		_ = sess.Close()
		t := time.NewTimer(s.cfg.DialTimeout)
		defer t.Stop()
		select {
		case <-waited:
		case <-t.C:
			// The guest does not even close a session it was told to
			// close: the connection is unusable, end it (bounded wait).
			s.markLost(errors.New("the guest did not close a cancelled session"))
			_ = s.client.Close()
			<-waited
		}
		return Result{}, fmt.Errorf("guest: command cancelled: %w", ctx.Err())
	}
	return s.result(err)
}

// result converts a session's end into a Result or ErrConnectionLost.
func (s *SSH) result(err error) (Result, error) {
	var exit *ssh.ExitError
	switch {
	case err == nil:
		return Result{}, nil
	case errors.As(err, &exit):
		if sig := exit.Signal(); sig != "" {
			return signalResult(strings.TrimPrefix(sig, "SIG")), nil
		}
		return Result{ExitCode: exit.ExitStatus()}, nil
	default:
		// No exit status: the session (or the whole connection) died.
		return Result{}, s.lostError(err)
	}
}

// forwardSignals delivers each signal exactly once: kill(1) of the
// recorded remote process group through a second session, which works
// with every server (many, OpenSSH before 8.1 among them, ignore SSH
// "signal" requests). Only when that fails (no PID recorded yet) is the
// signal request sent instead. Never both: a trap must not run twice, and
// escalation is the caller's job (Nomad's kill_timeout, a cancelled ctx).
func (s *SSH) forwardSignals(sess *ssh.Session, p plan, sigs <-chan os.Signal, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case sig, ok := <-sigs:
			if !ok {
				return
			}
			name := signalName(sig)
			if name == "" {
				s.cfg.Logf("guest: signal %v cannot be forwarded", sig)
				continue
			}
			if s.killRemote(p, name) != nil {
				_ = sess.Signal(ssh.Signal(name))
			}
		}
	}
}

// killRemote signals the recorded remote process group through a second
// session, bounded in time.
func (s *SSH) killRemote(p plan, sig string) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.DialTimeout)
	defer cancel()
	return s.helper(ctx, "signal "+sig, killLine(p.pidFile(), sig), nil)
}

// cleanup removes the command's private directory, best effort and bounded.
func (s *SSH) cleanup(p plan) {
	select {
	case <-s.lost:
		return // nothing can reach the guest any more
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.DialTimeout)
	defer cancel()
	_ = s.helper(ctx, "cleanup", p.cleanup, nil)
}

// helper runs a transport-internal command line; non-zero exit is a *CommandError.
func (s *SSH) helper(ctx context.Context, op, line string, stdin io.Reader) error {
	var stderr limitedBuffer
	res, err := s.runLine(ctx, plan{line: line}, Command{Stdin: stdin, Stderr: &stderr})
	if err != nil {
		return fmt.Errorf("guest: %s: %w", op, err)
	}
	if res.ExitCode != 0 || res.Signal != "" {
		return &CommandError{Op: op, ExitCode: res.ExitCode, Stderr: stderr.firstLines()}
	}
	return nil
}

// CopyFile implements Transport: the file is streamed on stdin to cat(1),
// created private and then given mode.
func (s *SSH) CopyFile(ctx context.Context, r io.Reader, guestPath string, mode os.FileMode) error {
	line, err := copyFileLine(guestPath, mode)
	if err != nil {
		return err
	}
	return s.helper(ctx, "copy to "+guestPath, line, r)
}

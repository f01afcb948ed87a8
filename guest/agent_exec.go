package guest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sync"

	"github.com/tartanhq/tartan/tart"
)

// agentCall is one `tart exec`: the user's command or a transport helper.
type agentCall struct {
	argv           []string
	stdin          io.Reader
	stdout, stderr io.Writer
	pty            *PTY
	signals        <-chan os.Signal
	plan           *plan // for the kill(1) fallback; nil for helpers
}

// exec runs one `tart exec -i [-t]` and maps its end to a Result or error.
func (a *Agent) exec(ctx context.Context, c agentCall) (Result, error) {
	tail := &tailBuffer{}
	stderr := io.Writer(tail)
	if c.stderr != nil {
		stderr = io.MultiWriter(c.stderr, tail)
	}
	stdout := c.stdout
	if stdout == nil {
		stdout = io.Discard
	}
	opts := tart.ExecOptions{Interactive: true, TTY: c.pty != nil}
	if c.pty == nil {
		opts.Stdout, opts.Stderr = stdout, stderr
	}
	cmd, err := a.tart.ExecCommand(ctx, a.vm, c.argv, opts)
	if errors.Is(err, tart.ErrUnsupported) {
		return Result{}, fmt.Errorf("%w: %w", ErrAgentUnavailable, err)
	} else if err != nil {
		return Result{}, err
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	var term *hostTerminal
	defer func() {
		// Stop the helpers before the terminal they use goes away.
		close(done)
		wg.Wait()
		if term != nil {
			term.close()
		}
	}()

	if c.pty != nil {
		// tart exec -t wants a terminal on the host: give it one whose
		// size we control; both guest streams arrive on it.
		term, err = startInTerminal(cmd, c.pty, io.MultiWriter(stdout, tail))
		if err != nil {
			return Result{}, err
		}
		go feedStdin(term.input(), c.stdin, done)
		forwardResizes(&wg, done, c.pty.Resize, term.resize)
	} else {
		stdinPipe, err := cmd.StdinPipe()
		if err != nil {
			return Result{}, err
		}
		if err := cmd.Start(); err != nil {
			return Result{}, fmt.Errorf("guest: starting tart exec: %w", err)
		}
		go feedStdin(stdinPipe, c.stdin, done)
	}

	var forwardedMu sync.Mutex
	forwarded := ""
	toTart := false // the last signal went to tart exec, not through kill(1)
	if c.signals != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.forwardSignals(cmd, c, done, func(name string, viaTart bool) {
				forwardedMu.Lock()
				forwarded, toTart = name, viaTart
				forwardedMu.Unlock()
			})
		}()
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-waited:
	case <-ctx.Done():
		// tart exec is killed with the context; the guest command would
		// outlive it, so kill that too.
		if c.plan != nil {
			a.killRemote(*c.plan, "KILL")
		}
		<-waited
		return Result{}, fmt.Errorf("guest: command cancelled: %w", ctx.Err())
	}
	if term != nil {
		term.drain()
	}
	code := cmd.ProcessState.ExitCode()
	if code < 0 {
		return Result{}, fmt.Errorf("%w: tart exec ended abnormally: %v", ErrConnectionLost, werr)
	}
	if err := tartExecFailure(a.vm, code, tail.String()); err != nil {
		return Result{}, err
	}
	forwardedMu.Lock()
	defer forwardedMu.Unlock()
	if forwarded != "" && toTart && code != 255 && c.plan != nil {
		// tart may have ended on the signal itself (real tart handles
		// SIGINT) and left the guest command running: make sure it got it.
		a.killRemote(*c.plan, forwarded)
	}
	if code == 255 && forwarded != "" {
		// The agent reports a signal death as 255 without its name; the
		// signal we just forwarded is the best explanation.
		return signalResult(forwarded), nil
	}
	return Result{ExitCode: code}, nil
}

// tart's own failures of `tart exec` (tart-cli.md §9), told apart from the
// guest command's exit code (which tart passes through) by its messages.
var (
	agentUnreachableRE = regexp.MustCompile(`(?m)^Failed to connect to the VM using its control socket`)
	execUnsupportedRE  = regexp.MustCompile(`(?m)^"tart exec" is only available on macOS`)
	vmNotRunningRE     = regexp.MustCompile(`(?m)^VM ".*" is not running$`)
	vmMissingRE        = regexp.MustCompile(`(?m)^the specified VM ".*" does not exist$`)
)

func tartExecFailure(vm string, code int, stderr string) error {
	switch {
	case code == 1 && agentUnreachableRE.MatchString(stderr):
		// tart prints this when it cannot connect to the agent at all
		// (tart-cli.md §9; a failure after connecting is "Error: <grpc
		// status>"), so the command never started.
		return fmt.Errorf("%w: %w: %w: VM %s: the guest agent does not answer (is tart-guest-agent running in the image?)", ErrConnectionLost, ErrAgentUnavailable, ErrNotStarted, vm)
	case code == 1 && execUnsupportedRE.MatchString(stderr):
		return fmt.Errorf("%w: %w: tart exec needs a macOS 14+ host", ErrAgentUnavailable, tart.ErrUnsupported)
	case code == 2 && vmNotRunningRE.MatchString(stderr):
		return fmt.Errorf("%w: %w: VM %s is not running", ErrConnectionLost, tart.ErrNotRunning, vm)
	case code == 2 && vmMissingRE.MatchString(stderr):
		return fmt.Errorf("%w: %w: VM %s does not exist", ErrConnectionLost, tart.ErrVMNotFound, vm)
	}
	return nil
}

// forwardSignals delivers each signal exactly once: kill(1) of the
// command's recorded process group through a second tart exec (the agent
// protocol has no signal message, and a trap must not run twice). Only
// when that fails (no PID recorded yet) is the tart exec process signalled
// instead, which forwards it where supported. Escalation is the caller's
// job (Nomad's kill_timeout, GitLab's cancel path cancelling ctx).
func (a *Agent) forwardSignals(cmd *exec.Cmd, c agentCall, done <-chan struct{}, record func(name string, viaTart bool)) {
	for {
		select {
		case <-done:
			return
		case sig, ok := <-c.signals:
			if !ok {
				return
			}
			name := signalName(sig)
			if name == "" {
				continue
			}
			record(name, false) // before delivery: the command may die at once
			if c.plan != nil && a.killRemote(*c.plan, name) == nil {
				continue
			}
			if name != "KILL" { // tart itself would die of it without forwarding anything
				record(name, true)
				_ = cmd.Process.Signal(sig)
			}
		}
	}
}

func (a *Agent) killRemote(p plan, sig string) error {
	return a.helper("signal "+sig, []string{"/bin/sh", "-c", killLine(p.pidFile(), sig)}, nil)
}

// helper runs a transport command bounded by HelperTimeout, detached from
// any caller context (cleanup and kill must run after cancellation).
func (a *Agent) helper(op string, argv []string, stdin io.Reader) error {
	return a.helperCtx(context.Background(), op, argv, stdin)
}

func (a *Agent) helperCtx(ctx context.Context, op string, argv []string, stdin io.Reader) error {
	ctx, cancel := context.WithTimeout(ctx, a.HelperTimeout)
	defer cancel()
	var stderr tailBuffer
	res, err := a.exec(ctx, agentCall{argv: argv, stdin: stdin, stderr: &stderr})
	if err != nil {
		return fmt.Errorf("guest: %s: %w", op, err)
	}
	if res.ExitCode != 0 {
		return &CommandError{Op: op, ExitCode: res.ExitCode, Stderr: stderr.lastLine()}
	}
	return nil
}

var errNoTerminal = errors.New("guest: cannot allocate a host terminal for tart exec -t")

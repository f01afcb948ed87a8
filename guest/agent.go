package guest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"time"

	"github.com/tartanhq/tartan/tart"
)

// Agent is a Transport through the Tart guest agent (`tart exec`). It needs
// no network path to the guest (no Local Network permission, no IP).
type Agent struct {
	tart *tart.Client
	vm   string
	// SignalGrace is how long a forwarded signal may take before the command
	// is also killed with kill(1) through a second `tart exec`. Default 2s.
	SignalGrace time.Duration
	// HelperTimeout bounds the transport's own short commands (upload,
	// kill, cleanup, probe). Default 30s.
	HelperTimeout time.Duration
}

var _ Transport = (*Agent)(nil)

// NewAgent returns a Transport running commands in vm with `tart exec`.
// It does not check that the agent answers: see Agent.Ping or Connect.
func NewAgent(c *tart.Client, vm string) *Agent {
	return &Agent{tart: c, vm: vm, SignalGrace: defaultSignalGrace, HelperTimeout: 30 * time.Second}
}

// Close implements Transport; an Agent holds no connection.
func (a *Agent) Close() error { return nil }

// Ping checks that tart supports exec and the guest agent answers, within ctx.
func (a *Agent) Ping(ctx context.Context) error {
	if a.tart == nil || a.vm == "" {
		return fmt.Errorf("%w: no tart client or VM name configured", ErrAgentUnavailable)
	}
	if err := a.tart.Supports(ctx, tart.FeatureExec); err != nil {
		return fmt.Errorf("%w: %w", ErrAgentUnavailable, err)
	}
	var stderr tailBuffer
	res, err := a.exec(ctx, agentCall{argv: []string{"true"}, stderr: &stderr})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrAgentUnavailable, err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("%w: `tart exec %s true` exited %d: %s", ErrAgentUnavailable, a.vm, res.ExitCode, stderr.lastLine())
	}
	return nil
}

// Run implements Transport.
func (a *Agent) Run(ctx context.Context, cmd Command) (Result, error) {
	p, err := buildPlan(cmd, newPlanDir())
	if err != nil {
		return Result{}, err
	}
	defer a.helper("cleanup", []string{"/bin/sh", "-c", p.cleanup}, nil)
	if p.wrapper != nil {
		if err := a.helperCtx(ctx, "upload of the command wrapper", []string{"/bin/sh", "-c", p.upload}, bytes.NewReader(p.wrapper)); err != nil {
			return Result{}, err
		}
	}
	var tail tailBuffer
	stderr := io.Writer(&tail)
	if cmd.Stderr != nil {
		stderr = io.MultiWriter(cmd.Stderr, &tail)
	}
	res, err := a.exec(ctx, agentCall{
		argv:    []string{"/bin/sh", "-c", p.line},
		stdin:   cmd.Stdin,
		stdout:  cmd.Stdout,
		stderr:  stderr,
		pty:     cmd.PTY,
		signals: cmd.Signals,
		plan:    &p,
	})
	if err == nil && res.ExitCode == 1 && mayBeAgentFailure(tail.lastLine()) {
		// tart reports a broken agent stream as "Error: ..." with exit 1,
		// like many guest programs do: only a dead agent makes it ours.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.HelperTimeout)
		defer cancel()
		if perr := a.Ping(pctx); perr != nil {
			return Result{}, fmt.Errorf("%w: %s (agent check: %v)", ErrConnectionLost, tail.lastLine(), perr)
		}
	}
	return res, err
}

// mayBeAgentFailure: the last stderr line looks like tart's own error for a
// broken gRPC stream to the agent (tart-cli.md §9: "Error: <grpc status>").
var agentStreamErrorRE = regexp.MustCompile(`(?i)^Error: .*(agent|grpc|rpc|connection|unavailable|transport|EOF)`)

func mayBeAgentFailure(lastLine string) bool { return agentStreamErrorRE.MatchString(lastLine) }

// CopyFile implements Transport.
func (a *Agent) CopyFile(ctx context.Context, r io.Reader, guestPath string, mode os.FileMode) error {
	line, err := copyFileLine(guestPath, mode)
	if err != nil {
		return err
	}
	// Bounded by ctx only: a large file may take longer than HelperTimeout.
	op := "copy to " + guestPath
	var stderr tailBuffer
	res, err := a.exec(ctx, agentCall{argv: []string{"/bin/sh", "-c", line}, stdin: r, stderr: &stderr})
	if err != nil {
		return fmt.Errorf("guest: %s: %w", op, err)
	}
	if res.ExitCode != 0 {
		return &CommandError{Op: op, ExitCode: res.ExitCode, Stderr: stderr.lastLine()}
	}
	return nil
}

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
	if err != nil {
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
		if c.pty.Resize != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-done:
						return
					case ws, ok := <-c.pty.Resize:
						if !ok {
							return
						}
						term.resize(ws)
					}
				}
			}()
		}
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
	if c.signals != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.forwardSignals(cmd, c, done, func(name string) {
				forwardedMu.Lock()
				forwarded = name
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
	if forwarded != "" && code != 255 && c.plan != nil {
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
		// Either never connected or the agent died mid-command: the
		// command's outcome is unknown in both cases.
		return fmt.Errorf("%w: %w: VM %s: the guest agent does not answer (is tart-guest-agent running in the image?)", ErrConnectionLost, ErrAgentUnavailable, vm)
	case code == 1 && execUnsupportedRE.MatchString(stderr):
		return fmt.Errorf("%w: %w: tart exec needs a macOS 14+ host", ErrAgentUnavailable, tart.ErrUnsupported)
	case code == 2 && vmNotRunningRE.MatchString(stderr):
		return fmt.Errorf("%w: %w: VM %s is not running", ErrConnectionLost, tart.ErrNotRunning, vm)
	case code == 2 && vmMissingRE.MatchString(stderr):
		return fmt.Errorf("%w: %w: VM %s does not exist", ErrConnectionLost, tart.ErrVMNotFound, vm)
	}
	return nil
}

// forwardSignals signals the tart exec process (which forwards to the guest
// command), then falls back to kill(1) through a second tart exec.
func (a *Agent) forwardSignals(cmd *exec.Cmd, c agentCall, done <-chan struct{}, record func(string)) {
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
			record(name)
			grace := time.NewTimer(a.SignalGrace)
			if name == "KILL" {
				// tart itself would die of it without forwarding anything.
				grace.Reset(0)
			} else {
				_ = cmd.Process.Signal(sig)
			}
			select {
			case <-done:
				grace.Stop()
				return
			case <-grace.C:
				if c.plan != nil {
					a.killRemote(*c.plan, name)
				}
			}
		}
	}
}

func (a *Agent) killRemote(p plan, sig string) {
	_ = a.helper("signal "+sig, []string{"/bin/sh", "-c", killLine(p.pidFile(), sig)}, nil)
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

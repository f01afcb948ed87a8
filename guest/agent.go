package guest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"time"

	"github.com/tartanhq/tartan/tart"
)

// Agent is a Transport through the Tart guest agent (`tart exec`). It needs
// no network path to the guest (no Local Network permission, no IP).
type Agent struct {
	tart *tart.Client
	vm   string
	// HelperTimeout bounds the transport's own short commands (upload,
	// kill, cleanup, probe). Default 30s.
	HelperTimeout time.Duration
	// GuestTempDir is the guest directory for per-command private files
	// (PID, wrapper, script). "" = DefaultGuestTempDir.
	GuestTempDir string
}

var _ Transport = (*Agent)(nil)

// NewAgent returns a Transport running commands in vm with `tart exec`.
// It does not check that the agent answers: see Agent.Ping or Connect.
func NewAgent(c *tart.Client, vm string) *Agent {
	return &Agent{tart: c, vm: vm, HelperTimeout: 30 * time.Second}
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
func (a *Agent) Run(ctx context.Context, cmd Command) (_ Result, err error) {
	p, err := buildPlan(cmd, newPlanDir(a.GuestTempDir))
	if err != nil {
		return Result{}, err
	}
	stdin := cmd.Stdin
	var res Result
	defer func() {
		// A one-shot line removes its own dir unless it was cut short.
		if !p.oneShot || err != nil || res.Signal != "" {
			a.helper("cleanup", []string{"/bin/sh", "-c", p.cleanup}, nil)
		}
	}()
	switch {
	case p.oneShot:
		stdin = bytes.NewReader(p.wrapper)
	case p.wrapper != nil:
		if err := a.helperCtx(ctx, "upload of the command wrapper", []string{"/bin/sh", "-c", p.upload}, bytes.NewReader(p.wrapper)); err != nil {
			return Result{}, err
		}
	}
	var tail tailBuffer
	stderr := io.Writer(&tail)
	if cmd.Stderr != nil {
		stderr = io.MultiWriter(cmd.Stderr, &tail)
	}
	res, err = a.exec(ctx, agentCall{
		argv:    []string{"/bin/sh", "-c", p.line},
		stdin:   stdin,
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

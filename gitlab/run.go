package gitlab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tartanhq/tartan/guest"
	"github.com/tartanhq/tartan/tart"
)

// vmWatchInterval is how often run checks that the VM process still lives.
const vmWatchInterval = 500 * time.Millisecond

// Run executes one sub-stage script in the guest with the shell GitLab
// generated it for, streaming its output. The runner's SIGTERM is forwarded
// to the remote script; if it has not ended within cancel_grace the stage
// gives up (system failure) so the runner can go on to after_script and
// cleanup.
func (st *Stage) Run(ctx context.Context, scriptPath, stageName string) error {
	s := st.Settings
	sigs := st.Signals
	if sigs == nil {
		ch := make(chan os.Signal, 4)
		signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
		defer signal.Stop(ch)
		sigs = ch
	}

	rec, err := loadRecord(s.StateDir, st.VM)
	if err != nil {
		return err
	}
	if v, err := tart.ParseVersion(rec.TartVersion); err == nil && rec.TartVersion != "" {
		st.Tart.SetVersion(v) // no `tart --version` per stage
	}
	script, err := os.ReadFile(scriptPath)
	if err != nil {
		return fmt.Errorf("reading the %s script: %w", stageName, err)
	}
	sh, err := shellFor(s.Shell)
	if err != nil {
		return err
	}
	h := tart.Attach(st.VM, rec.RunPID, rec.RunLog)
	if !h.Alive() {
		return st.vmDiedError(rec.RunLog, errors.New("before "+stageName))
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go st.watchVM(runCtx, h, cancel)

	// Signals: the first one is forwarded to the script (or, before the
	// script started, ends the stage); after cancel_grace, or at a second
	// signal, the stage stops waiting.
	fwd := make(chan os.Signal, 4)
	var started, canceled atomic.Bool
	go func() {
		for {
			select {
			case <-runCtx.Done():
				return
			case sig := <-sigs:
				if canceled.Swap(true) {
					cancel(ErrCancelTimeout) // a second signal: stop waiting
					continue
				}
				_ = updateRecord(s.StateDir, st.VM, func(r *Record) { r.Canceled = true })
				if !started.Load() {
					cancel(fmt.Errorf("%w: received %s before %s started", errNotStarted, signalName(sig), stageName))
					continue
				}
				st.Log.Printf("Received %s: forwarding it to the %s script in the guest", signalName(sig), stageName)
				fwd <- sig
				grace := time.AfterFunc(s.CancelGrace, func() { cancel(ErrCancelTimeout) })
				defer grace.Stop()
			}
		}
	}()

	tr, err := st.reconnect(runCtx, rec)
	if err != nil {
		if cause := context.Cause(runCtx); errors.Is(cause, errNotStarted) {
			return cause
		}
		if !h.Alive() {
			return st.vmDiedError(rec.RunLog, err)
		}
		return fmt.Errorf("%w: connecting for %s: %v", ErrGuestLost, stageName, err)
	}
	defer tr.Close()

	started.Store(true)
	command := guest.Command{
		Shell:      sh.Path,
		LoginShell: sh.Login,
		Script:     string(script),
		Stdout:     st.Stdout,
		Stderr:     st.Stderr,
		Signals:    fwd,
	}
	res, err := tr.Run(runCtx, command)
	if errors.Is(err, guest.ErrNotStarted) && rec.Transport == "agent" && rec.IP != "" && s.Transport != "agent" && runCtx.Err() == nil {
		// The agent died since prepare (tart exec breaks after a guest
		// restart) and the script did not start: SSH reaches the same guest.
		st.Log.Warnf("The guest agent does not answer (%v); using SSH", err)
		if ssh, derr := st.dialSSH(runCtx, rec); derr == nil {
			defer ssh.Close()
			res, err = ssh.Run(runCtx, command)
		}
	}
	cause := context.Cause(runCtx)
	switch {
	case errors.Is(cause, errNotStarted):
		return cause
	case errors.Is(cause, ErrVMDied):
		return st.vmDiedError(rec.RunLog, fmt.Errorf("during %s", stageName))
	case errors.Is(cause, ErrCancelTimeout):
		return fmt.Errorf("%w within %s (cancel_grace) in %s", ErrCancelTimeout, round(s.CancelGrace), stageName)
	case err != nil && errors.Is(err, guest.ErrConnectionLost):
		if !h.Alive() {
			return st.vmDiedError(rec.RunLog, fmt.Errorf("during %s", stageName))
		}
		return fmt.Errorf("%w during %s: %v", ErrGuestLost, stageName, err)
	case err != nil:
		return fmt.Errorf("running %s in the guest: %w", stageName, err)
	}
	if res.ExitCode != 0 {
		if countsAsJobFailure(stageName) {
			_ = updateRecord(s.StateDir, st.VM, func(r *Record) { r.Failed = true })
		}
		return &BuildError{ExitCode: res.ExitCode}
	}
	return nil
}

// errNotStarted: the runner canceled the stage before its script started.
var errNotStarted = errors.New("canceled: the script was not started")

// countsAsJobFailure: a failure in these sub-stages fails the job (used to
// decide whether keep_failed_vm applies).
func countsAsJobFailure(stage string) bool {
	return stage == "build_script" || strings.HasPrefix(stage, "step_") || stage == "get_sources" || stage == "prepare_script"
}

// watchVM cancels ctx with ErrVMDied when the VM process disappears.
func (st *Stage) watchVM(ctx context.Context, h *tart.RunHandle, cancel context.CancelCauseFunc) {
	t := time.NewTicker(vmWatchInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !h.Alive() {
				cancel(ErrVMDied)
				return
			}
		}
	}
}

// reconnect opens the transport prepare found working. The agent is not
// pinged first (a round trip per stage): a dead agent fails the command
// before it starts (guest.ErrNotStarted) and Run then goes over SSH.
func (st *Stage) reconnect(ctx context.Context, rec *Record) (guest.Transport, error) {
	if rec.Transport == "agent" {
		return guest.NewAgent(st.Tart, st.VM), nil
	}
	return st.dialSSH(ctx, rec)
}

// dialSSH connects to the guest's sshd, retrying for connect_timeout.
func (st *Stage) dialSSH(ctx context.Context, rec *Record) (guest.Transport, error) {
	cctx, cancel := context.WithTimeout(ctx, st.Settings.ConnectTimeout)
	defer cancel()
	cfg, err := st.sshConfig(rec.IP)
	if err != nil {
		return nil, err
	}
	cfg.RetryUntil = st.Settings.ConnectTimeout
	return guest.DialSSH(cctx, cfg)
}

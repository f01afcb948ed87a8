package tart

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tartanhq/tartan/internal/cliproc"
)

const (
	defaultStartTimeout = 60 * time.Second
	defaultStartSettle  = 500 * time.Millisecond
	startPollInterval   = 100 * time.Millisecond
	startPollFirst      = 10 * time.Millisecond
)

// RunHandle is a started `tart run`. The process is detached (own session):
// it outlives the caller and the caller's process-group signals.
type RunHandle struct {
	Name    string
	PID     int
	LogPath string

	done     chan struct{} // closed when tart run exits (parent only)
	mu       sync.Mutex
	exitCode int
	exitSig  string   // "SIGKILL"... when a signal ended tart run
	args     []string // redacted argv, for errors
	logOff   int64    // where this run's output starts in LogPath
}

// Attach rebuilds a handle for a `tart run` found after a restart. Done()
// never closes for it (the process is not our child): use Alive().
func Attach(name string, pid int, logPath string) *RunHandle {
	return &RunHandle{Name: name, PID: pid, LogPath: logPath, exitCode: -1}
}

// Done is closed when tart run exits. Only for the process that started it;
// nil for an attached handle (a nil channel blocks forever in select).
func (h *RunHandle) Done() <-chan struct{} { return h.done }

// ExitCode of tart run once Done is closed; -1 before, when killed by a
// signal, or for an attached handle.
func (h *RunHandle) ExitCode() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.exitCode
}

// ExitSignal names the signal that ended tart run ("SIGKILL"), "" when it
// exited by itself, still runs, or the handle is attached.
func (h *RunHandle) ExitSignal() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.exitSig
}

// ExitDescription says how tart run ended: "exit code N" or "killed by
// SIGKILL" (never the -1 a signal leaves in ExitCode).
func (h *RunHandle) ExitDescription() string {
	if sig := h.ExitSignal(); sig != "" {
		return "killed by " + sig
	}
	return fmt.Sprintf("exit code %d", h.ExitCode())
}

// Alive reports whether the tart run process still exists. For an attached
// handle this is a PID check (a recycled PID can fool it; confirm with
// List/Get state when it matters).
func (h *RunHandle) Alive() bool {
	if h.done != nil {
		select {
		case <-h.done:
			return false
		default:
			return true
		}
	}
	return processAlive(h.PID) && !cliproc.IsZombie(h.PID)
}

// ExitError is nil while tart run lives. Once it has exited it is the
// classified *Error of that exit (errors.Is ErrVMLimit, ErrAlreadyRunning,
// ...; ErrFailed when the VM simply stopped), with tart's line from the log.
func (h *RunHandle) ExitError() error {
	if h.Alive() {
		return nil
	}
	code := h.ExitCode()
	cl := classifyLog(code, readFrom(h.LogPath, h.logOff))
	kind, line := cl.kind, cl.line
	if code == 0 {
		// Exit 0: the guest stopped, or tart printed a usage/help text.
		// Either way the VM is not running.
		kind = ErrFailed
		if line == "" {
			line = "tart run exited with status 0 (the VM stopped)"
		}
	}
	if kind == nil {
		kind = ErrFailed
	}
	if sig := h.ExitSignal(); sig != "" {
		// Not tart's own failure: say who ended it, not "exit -1".
		line = strings.TrimSpace("killed by " + sig + "; " + line)
		line = strings.TrimSuffix(line, ";")
	}
	return &Error{Kind: kind, Args: h.args, ExitCode: code, Stderr: line}
}

// Watch returns a context that ends when parent does or, with the cause
// ErrRunExited wrapping ExitError, as soon as tart run exits: waits for the
// guest (IP, SSH, agent) fail at once when the VM dies instead of at their
// timeout. Call the CancelFunc to release it. For an attached handle only
// parent ends it.
func (h *RunHandle) Watch(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	go func() {
		select {
		case <-h.done:
			cancel(fmt.Errorf("%w: %w", ErrRunExited, h.ExitError()))
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(nil) }
}

// LogTail returns the last n lines of the run log ("" if unreadable).
func (h *RunHandle) LogTail(n int) string {
	if n <= 0 || h.LogPath == "" {
		return ""
	}
	data, err := readTail(h.LogPath, 256<<10)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func readTail(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(0, fi.Size()-limit)
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

// readFrom returns the log content written after offset off.
func readFrom(path string, off int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	return string(b)
}

// Run starts `tart run name` detached (Setsid), output appended to
// o.LogPath (default: a new file in os.TempDir(), removed again if the
// start fails), o.ExtraFiles inherited. It returns once the VM shows as running
// and stayed up for o.StartSettle, or with a classified *Error when tart run
// exits first (VM not found, already running, VM limit, ...). If ctx ends or
// StartTimeout passes before that, the process is killed and the error is
// ErrTimeout (or the ctx error). After Run returns a handle, ctx no longer
// affects the VM.
func (c *Client) Run(ctx context.Context, name string, o RunOptions) (*RunHandle, error) {
	args, err := RunArgs(name, o)
	if err != nil {
		return nil, err
	}
	if err := c.require(ctx, RunFeatures(o)); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, c.failure(ctx, args, -1, "", err)
	}
	logFile, err := openRunLog(name, o.LogPath)
	if err != nil {
		return nil, err
	}
	startOff, _ := logFile.Seek(0, io.SeekEnd)

	// Not CommandContext: the VM must not die with ctx once started.
	cmd := c.command(context.Background(), args, nil)
	cmd.Cancel = nil
	cmd.WaitDelay = 0
	setSession(cmd)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.ExtraFiles = o.ExtraFiles
	startErr := cmd.Start()
	_ = logFile.Close() // the child has its own copy
	if startErr != nil {
		return nil, &Error{Kind: startErrKind(startErr), Args: RedactArgs(args), ExitCode: -1, Cause: startErr}
	}
	h := &RunHandle{Name: name, PID: cmd.Process.Pid, LogPath: logFile.Name(), done: make(chan struct{}), exitCode: -1,
		args: RedactArgs(args), logOff: startOff}
	go func() {
		_ = cmd.Wait()
		h.mu.Lock()
		h.exitCode = exitCode(cmd)
		h.exitSig = exitSignal(cmd)
		h.mu.Unlock()
		close(h.done)
	}()

	if err := c.awaitStart(ctx, h, o, args, startOff); err != nil {
		if o.LogPath == "" {
			// Our own temp log of a VM that never ran: the error carries
			// the line that matters.
			_ = os.Remove(h.LogPath)
		}
		return nil, err
	}
	return h, nil
}

// awaitStart watches a fresh tart run until it is established, failed, or
// out of time. On any error the process is gone when it returns.
func (c *Client) awaitStart(ctx context.Context, h *RunHandle, o RunOptions, args []string, startOff int64) error {
	timeout := o.StartTimeout
	if timeout <= 0 {
		timeout = defaultStartTimeout
	}
	settle := o.StartSettle
	if settle == 0 {
		settle = defaultStartSettle
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()

	exited := h.ExitError
	kill := func(cause error) error {
		_ = signalGroup(h.PID)
		<-h.done // bounded: SIGKILL cannot be ignored
		kind := ErrTimeout
		if errors.Is(cause, context.Canceled) {
			kind = ErrFailed
		}
		line := classifyLog(h.ExitCode(), readFrom(h.LogPath, startOff)).line
		return &Error{Kind: kind, Args: RedactArgs(args), ExitCode: -1, Stderr: line, Cause: cause}
	}

	// Phase 1: until tart holds the VM lock. Poll soon after the start and
	// back off to startPollInterval: the lock is usually taken within tens
	// of milliseconds, and a fixed 100 ms tick cost that much per VM.
	wait := startPollFirst
	for !c.isRunning(ctx, h.Name) {
		pause := time.NewTimer(wait)
		select {
		case <-h.done:
			pause.Stop()
			return exited()
		case <-ctx.Done():
			pause.Stop()
			return kill(ctx.Err())
		case <-deadline.C:
			pause.Stop()
			return kill(fmt.Errorf("VM %q did not show as running within %s: %w", h.Name, timeout, context.DeadlineExceeded))
		case <-pause.C:
		}
		wait = min(2*wait, startPollInterval)
	}
	if settle < 0 {
		return nil
	}

	// Phase 2: tart reports the VM limit just after taking the lock, so the
	// start only counts once tart run has survived the settle time. Nothing
	// needs polling here: an early exit closes h.done.
	settled := time.NewTimer(settle)
	defer settled.Stop()
	select {
	case <-h.done:
		return exited()
	case <-ctx.Done():
		return kill(ctx.Err())
	case <-deadline.C:
		return kill(fmt.Errorf("VM %q was not established within %s: %w", h.Name, timeout, context.DeadlineExceeded))
	case <-settled.C:
	}
	select {
	case <-h.done:
		return exited()
	default:
		return nil
	}
}

// isRunning asks tart whether name holds its run lock. Errors (tart busy,
// VM briefly unreadable) count as "not yet".
func (c *Client) isRunning(ctx context.Context, name string) bool {
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	info, err := c.Get(pctx, name)
	return err == nil && info.State == StateRunning
}

func openRunLog(name, path string) (*os.File, error) {
	if path == "" {
		f, err := os.CreateTemp("", "tart-run-"+safeFileName(name)+"-*.log")
		if err != nil {
			return nil, fmt.Errorf("tart run %s: creating log file: %w", name, err)
		}
		return f, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, usagef("run log %q cannot be opened (%v); pass a writable LogPath", path, err)
	}
	return f, nil
}

func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ':' || r == '@' || r < ' ' {
			return '_'
		}
		return r
	}, s)
}

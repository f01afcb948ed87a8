package tart

import (
	"errors"
	"fmt"

	"github.com/tartanhq/tartan/internal/cliproc"
)

// Error classes. Every failure returned by this package matches exactly one
// of them with errors.Is.
var (
	ErrVMNotFound     = errors.New("VM not found")
	ErrNotRunning     = errors.New("VM is not running")
	ErrAlreadyRunning = errors.New("VM is already running")
	ErrVMRunning      = errors.New("VM is running") // delete/push refused while the VM runs
	ErrVMLimit        = errors.New("virtual machine limit exceeded")
	ErrNoIP           = errors.New("no IP address found")
	ErrAuth           = errors.New("registry authentication failed")
	ErrDiskFull       = errors.New("not enough disk space")
	ErrUnsupported    = errors.New("not supported by this tart or host")
	ErrTimeout        = errors.New("timed out")
	ErrUsage          = errors.New("invalid usage")
	ErrBinaryNotFound = errors.New("tart binary not found")
	ErrFailed         = errors.New("tart command failed")

	// ErrAgentUnavailable: `tart exec` could not reach the guest agent
	// (control socket missing or agent not running). Extension of the
	// design contract; the guest package maps it to its own
	// ErrAgentUnavailable.
	ErrAgentUnavailable = errors.New("tart guest agent unavailable")

	// ErrRunExited is the cause of a RunHandle.Watch context ended by
	// tart run exiting; it wraps the run's ExitError.
	ErrRunExited = errors.New("tart run exited")
)

// Error is the failure of one tart command.
type Error struct {
	Kind     error    // one of the Err* sentinels; Unwrap returns it
	Args     []string // argv after the binary, secrets removed (see RedactArgs)
	ExitCode int      // -1 when tart did not exit normally (killed, not started)
	Stderr   string   // tart's first meaningful stderr line ("" if none)
	// Cause is the underlying Go error when there is one (context.Canceled,
	// context.DeadlineExceeded, an exec error). errors.Is also matches it.
	Cause error
}

func (e *Error) Error() string {
	return cliproc.Describe("tart", e.Args, e.Stderr, e.Cause, e.Kind, e.ExitCode)
}

// Unwrap returns the error class.
func (e *Error) Unwrap() error { return e.Kind }

// Is lets errors.Is see the underlying cause too (for example
// context.DeadlineExceeded behind ErrTimeout).
func (e *Error) Is(target error) bool {
	return e.Cause != nil && errors.Is(e.Cause, target)
}

// UnsupportedError: the installed tart is too old for a feature.
type UnsupportedError struct {
	Feature Feature
	Have    Version // the installed tart
	Need    Version // the first version that has the feature
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("tart %s does not support %s; it needs tart >= %s", e.Have, e.Feature, e.Need)
}

// Unwrap makes errors.Is(err, ErrUnsupported) true.
func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }

// UsageError: input rejected before tart ran (or tart exited 64).
type UsageError struct {
	Msg string // says what is wrong and what to do
}

func (e *UsageError) Error() string { return "tart: " + e.Msg }

// Unwrap makes errors.Is(err, ErrUsage) true.
func (e *UsageError) Unwrap() error { return ErrUsage }

func usagef(format string, a ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, a...)}
}

// BinaryNotFoundError lists where the tart binary was looked for.
type BinaryNotFoundError struct {
	Searched []string
	Reason   string // extra detail for an explicit path (e.g. "not executable")
}

func (e *BinaryNotFoundError) Error() string {
	lookup := &cliproc.LookupError{Name: "tart", Searched: e.Searched, Reason: e.Reason}
	return lookup.Error() + "; install tart (brew install cirruslabs/cli/tart) or set the binary path explicitly"
}

// Unwrap makes errors.Is(err, ErrBinaryNotFound) true.
func (e *BinaryNotFoundError) Unwrap() error { return ErrBinaryNotFound }

func quoteArg(a string) string { return cliproc.QuoteArg(a) }

package applecontainer

import (
	"errors"
	"fmt"

	"github.com/tartanhq/tartan/internal/cliproc"
)

// kindError is an error class. A class may refine another one (its parent):
// ErrImageNotFound is also ErrNotFound.
type kindError struct {
	msg    string
	parent error
}

func (k *kindError) Error() string { return k.msg }
func (k *kindError) Unwrap() error { return k.parent }

// Error classes. Every failure returned by this package matches one of them
// with errors.Is.
var (
	ErrNotFound       error = &kindError{msg: "not found"}
	ErrImageNotFound  error = &kindError{msg: "image not found", parent: ErrNotFound}
	ErrAlreadyExists  error = &kindError{msg: "already exists"}
	ErrNotRunning     error = &kindError{msg: "container is not running"}
	ErrRunning        error = &kindError{msg: "container is running"} // delete without force, attach to a running container
	ErrAPIServerDown  error = &kindError{msg: "container API server is not running (run `container system start`)"}
	ErrNoKernel       error = &kindError{msg: "no default kernel installed (run `container system kernel set --recommended` or `container system start --enable-kernel-install`)"}
	ErrUsage          error = &kindError{msg: "invalid usage of the container CLI"} // exit 64
	ErrUnsupported    error = &kindError{msg: "not supported by this container CLI or host"}
	ErrInvalidInput   error = &kindError{msg: "invalid input"}
	ErrBinaryNotFound error = &kindError{msg: "container binary not found"}
	ErrAuth           error = &kindError{msg: "registry refused the credentials"}
	ErrTimeout        error = &kindError{msg: "timed out"}
	ErrFailed         error = &kindError{msg: "container command failed"}
)

// Error is the failure of one `container` command.
type Error struct {
	Kind     error    // one of the Err* classes; Unwrap returns it
	Args     []string // argv after the binary, secrets removed (RedactArgs)
	ExitCode int      // -1 when the CLI did not exit normally (killed, not started)
	Stderr   string   // the CLI's line that explains the failure, without "Error: "
	// Cause is the underlying Go error when there is one (context errors,
	// exec errors, JSON errors). errors.Is matches it too.
	Cause error
}

func (e *Error) Error() string {
	msg := cliproc.Describe("container", e.Args, e.Stderr, e.Cause, e.Kind, e.ExitCode)
	switch e.Kind {
	case ErrAPIServerDown:
		msg += "; the container API server is not running: run `container system start`"
	case ErrNoKernel:
		msg += "; no default kernel is installed: run `container system kernel set --recommended`"
	}
	return msg
}

// Unwrap returns the error class.
func (e *Error) Unwrap() error { return e.Kind }

// Is lets errors.Is see the cause too (context.DeadlineExceeded behind
// ErrTimeout).
func (e *Error) Is(target error) bool {
	return e.Cause != nil && errors.Is(e.Cause, target)
}

// UnsupportedError: the installed container CLI is too old for a feature.
type UnsupportedError struct {
	Feature Feature
	Have    Version // the installed CLI
	Need    Version // the first release with the feature
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("container %s does not support %s; it needs container >= %s", e.Have, e.Feature, e.Need)
}

// Unwrap makes errors.Is(err, ErrUnsupported) true.
func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }

// InputError: input rejected before the CLI ran. Option names the
// offending option (RunOptions field or CLI flag).
type InputError struct {
	Option string
	Msg    string // what is wrong and what to do
}

func (e *InputError) Error() string { return "container: " + e.Option + ": " + e.Msg }

// Unwrap makes errors.Is(err, ErrInvalidInput) true.
func (e *InputError) Unwrap() error { return ErrInvalidInput }

func inputf(option, format string, a ...any) error {
	return &InputError{Option: option, Msg: fmt.Sprintf(format, a...)}
}

// BinaryNotFoundError lists where the container binary was looked for.
type BinaryNotFoundError struct {
	Searched []string
	Reason   string
}

func (e *BinaryNotFoundError) Error() string {
	lookup := &cliproc.LookupError{Name: "container", Searched: e.Searched, Reason: e.Reason}
	return lookup.Error() + "; install Apple's container (the signed .pkg from github.com/apple/container releases) or set Options.Binary"
}

// Unwrap makes errors.Is(err, ErrBinaryNotFound) true.
func (e *BinaryNotFoundError) Unwrap() error { return ErrBinaryNotFound }

func quoteArg(a string) string { return cliproc.QuoteArg(a) }

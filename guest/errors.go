package guest

import (
	"errors"
	"fmt"
)

// Error classes, matched with errors.Is.
var (
	// ErrConnectionLost: the transport died while a command ran, so its
	// outcome is unknown. Never used for a non-zero exit.
	ErrConnectionLost = errors.New("guest: connection lost")
	// ErrAuth: the guest refused the credentials (do not retry).
	ErrAuth = errors.New("guest: authentication failed")
	// ErrUnreachable: dialling failed until the retry budget ran out.
	ErrUnreachable = errors.New("guest: unreachable")
	// ErrAgentUnavailable: the Tart guest agent cannot be used (tart too
	// old, image without agent, agent not answering).
	ErrAgentUnavailable = errors.New("guest: guest agent unavailable")
	// ErrHostKeyMismatch: the guest's SSH host key is not the pinned one.
	ErrHostKeyMismatch = errors.New("guest: SSH host key mismatch")
	// ErrInvalidInput: a Command or configuration that cannot be run.
	ErrInvalidInput = errors.New("guest: invalid input")
	// ErrNotStarted: the command certainly did not start (tart could not
	// even reach the guest agent), so running it again elsewhere is safe.
	ErrNotStarted = errors.New("guest: the command was not started")
	// ErrClosed: the Transport was closed.
	ErrClosed = errors.New("guest: transport closed")
)

// HostKeyMismatchError says which key the guest offered and which was pinned.
type HostKeyMismatchError struct {
	Addr   string
	Got    string // SHA256 fingerprint offered by the guest
	Pinned string // what the configuration pinned
}

func (e *HostKeyMismatchError) Error() string {
	return fmt.Sprintf("guest: SSH host key of %s is %s but %s is pinned: the VM is not the one expected (or its key changed); fix SSHConfig.HostKey", e.Addr, e.Got, e.Pinned)
}

// Unwrap makes errors.Is(err, ErrHostKeyMismatch) true.
func (e *HostKeyMismatchError) Unwrap() error { return ErrHostKeyMismatch }

// CommandError is a helper command of the transport itself (upload, copy)
// that exited non-zero.
type CommandError struct {
	Op       string // "copy to /path", "upload wrapper"
	ExitCode int
	Stderr   string // first lines of the guest's stderr
}

func (e *CommandError) Error() string {
	if e.Stderr == "" {
		return fmt.Sprintf("guest: %s failed with exit code %d", e.Op, e.ExitCode)
	}
	return fmt.Sprintf("guest: %s failed with exit code %d: %s", e.Op, e.ExitCode, e.Stderr)
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidInput, fmt.Sprintf(format, args...))
}

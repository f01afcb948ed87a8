package slots

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

var (
	// ErrBusy: every slot of the kind is held. Returned as *BusyError.
	ErrBusy = errors.New("slots: all VM slots are busy")
	// ErrUnknownKind: a Kind other than "macos" or "linux".
	ErrUnknownKind = errors.New("slots: unknown guest kind")
	// ErrBadLimit: a negative limit.
	ErrBadLimit = errors.New("slots: invalid limit")
	// ErrDir: the slot directory cannot be created or used.
	ErrDir = errors.New("slots: unusable slot directory")
	// ErrReleased: the Slot was already released.
	ErrReleased = errors.New("slots: slot already released")
)

// BusyError says that no slot became free in time, and who holds them.
type BusyError struct {
	Kind    Kind
	Limit   int
	Dir     string
	Waited  time.Duration
	Holders []HolderInfo
	Cause   error // the context's error when Acquire gave up, nil for TryAcquire
}

func (e *BusyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "all %d %s VM slots in %s are busy", e.Limit, e.Kind, e.Dir)
	if e.Waited > 0 {
		fmt.Fprintf(&b, " (waited %s)", e.Waited.Round(time.Millisecond))
	}
	if len(e.Holders) > 0 {
		b.WriteString(": ")
		for i, h := range e.Holders {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(h.String())
		}
	}
	b.WriteString("; wait for a VM to finish, raise the limit, or stop a VM")
	return b.String()
}

// Is makes errors.Is(err, ErrBusy) true.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// Unwrap exposes the context error (context.DeadlineExceeded or Canceled).
func (e *BusyError) Unwrap() error { return e.Cause }

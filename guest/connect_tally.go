package guest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"
)

// tally sums up why one transport failed across Connect's attempts, so the
// final error says what happened all along ("connection refused for 2m0s,
// 480 attempts"), not what the last attempt, cut by the deadline, saw.
type tally struct {
	kinds []*failureKind // in order of first appearance
}

type failureKind struct {
	what        string
	n           int
	first, last time.Time
}

func (t *tally) add(err error) {
	what, now := failureClass(err), time.Now()
	for _, k := range t.kinds {
		if k.what == what {
			k.n++
			k.last = now
			return
		}
	}
	t.kinds = append(t.kinds, &failureKind{what: what, n: 1, first: now, last: now})
}

func (t *tally) empty() bool { return len(t.kinds) == 0 }

// String lists each kind of failure with how long and how often it was
// seen, in the order they first appeared.
func (t *tally) String() string {
	parts := make([]string, 0, len(t.kinds))
	for _, k := range t.kinds {
		span := ""
		if d := k.last.Sub(k.first); d >= 10*time.Millisecond {
			span = " for " + d.Round(100*time.Millisecond).String()
		}
		parts = append(parts, fmt.Sprintf("%s%s (%d attempt%s)", k.what, span, k.n, plural(k.n)))
	}
	return strings.Join(parts, ", then ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// failureClass names a failed attempt in a few words.
func failureClass(err error) string {
	var noIP *noIPError
	switch {
	case errors.As(err, &noIP):
		return "no IP address yet"
	case strings.Contains(err.Error(), "the guest agent does not answer"):
		return "the guest agent does not answer"
	case errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "no route to host"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.Is(err, io.EOF) || strings.Contains(err.Error(), "handshake failed: EOF"):
		return "connection closed by the guest during the SSH handshake"
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "i/o timeout"):
		return "no answer within the attempt's timeout"
	}
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	for _, p := range []string{ErrConnectionLost.Error() + ": ", ErrAgentUnavailable.Error() + ": ", ErrUnreachable.Error() + ": "} {
		msg = strings.TrimPrefix(msg, p)
	}
	if len(msg) > 160 {
		msg = msg[:160] + "…"
	}
	return msg
}

// noIPError: `tart ip` had no address for the VM yet.
type noIPError struct {
	vm  string
	err error
}

func (e *noIPError) Error() string { return fmt.Sprintf("no IP for VM %s yet: %v", e.vm, e.err) }
func (e *noIPError) Unwrap() error { return e.err }

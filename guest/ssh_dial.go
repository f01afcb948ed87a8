package guest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// DialSSH connects to a guest's sshd, retrying refused or failing attempts
// with exponential backoff until cfg.RetryUntil has passed (a booting VM
// refuses connections for a while). Authentication failures and host-key
// mismatches are final. Exhausted retries give ErrUnreachable wrapping the
// last cause; a cancelled ctx gives ctx.Err().
func DialSSH(ctx context.Context, cfg SSHConfig) (*SSH, error) {
	cfg = cfg.withDefaults()
	cc, err := cfg.clientConfig()
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(cfg.RetryUntil)
	bo := newBackoff(firstRetry, 5*time.Second)
	for attempt := 1; ; attempt++ {
		client, err := dialOnce(ctx, cfg, cc)
		if err == nil {
			return newSSH(client, cfg), nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("guest: dialling %s: %w (last error: %v)", cfg.Addr, ctxErr, err)
		}
		if final := classifyDialError(cfg, err); final != nil {
			return nil, final
		}
		wait := bo.next()
		if remaining := time.Until(deadline); remaining <= 0 {
			return nil, fmt.Errorf("%w: %s after %d attempt(s) in %s: %w (the VM may not be booted, sshd not running, or the address wrong)",
				ErrUnreachable, cfg.Addr, attempt, cfg.RetryUntil, err)
		} else if wait > remaining {
			wait = remaining
		}
		cfg.Logf("guest: ssh %s not ready (attempt %d: %v), retrying in %s", cfg, attempt, err, wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("guest: dialling %s: %w (last error: %v)", cfg.Addr, ctx.Err(), err)
		case <-t.C:
		}
	}
}

// dialOnce makes one bounded attempt: TCP connect and SSH handshake within
// cfg.DialTimeout, abandoned at once when ctx ends.
func dialOnce(ctx context.Context, cfg SSHConfig, cc *ssh.ClientConfig) (*ssh.Client, error) {
	actx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(actx, "tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	// The handshake has no context: a deadline bounds it and ctx closes it.
	deadline, _ := actx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(actx, func() { _ = conn.Close() })
	c, chans, reqs, err := ssh.NewClientConn(conn, cfg.Addr, cc)
	if !stop() {
		if err == nil {
			_ = c.Close()
		}
		_ = conn.Close()
		if err == nil {
			err = actx.Err()
		}
		return nil, err
	}
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// classifyDialError returns the final error for failures that retrying
// cannot fix, nil for those worth another attempt.
func classifyDialError(cfg SSHConfig, err error) error {
	var mismatch *HostKeyMismatchError
	switch {
	case errors.As(err, &mismatch):
		return mismatch
	case strings.Contains(err.Error(), "unable to authenticate"):
		return fmt.Errorf("%w: %s as user %q: the guest rejected the password/key (check the image's credentials)", ErrAuth, cfg.Addr, cfg.User)
	}
	return nil
}

// backoff doubles a delay up to a ceiling.
type backoff struct{ cur, max time.Duration }

func newBackoff(start, max time.Duration) *backoff { return &backoff{cur: start, max: max} }

func (b *backoff) next() time.Duration {
	d := b.cur
	b.cur = min(b.cur*2, b.max)
	return d
}

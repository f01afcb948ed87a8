package guest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/tartanhq/tartan/tart"
)

// Mode chooses the transport.
type Mode string

const (
	ModeAuto  Mode = "auto"  // the guest agent if it answers, else SSH
	ModeAgent Mode = "agent" // `tart exec` only
	ModeSSH   Mode = "ssh"   // SSH only
)

// ParseMode accepts "", "auto", "agent" and "ssh" ("" = auto).
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case "":
		return ModeAuto, nil
	case ModeAuto, ModeAgent, ModeSSH:
		return m, nil
	}
	return "", invalid("transport mode %q: use auto, agent or ssh", s)
}

// Config says how Connect reaches a guest.
type Config struct {
	Mode Mode         // "" = ModeAuto
	Tart *tart.Client // needed for the agent, and to resolve SSH.Addr
	VM   string       // the VM's tart name
	SSH  SSHConfig    // SSH.Addr "" = the VM's IP from `tart ip` and SSHPort
	// SSHPort is used with a resolved IP. Default 22.
	SSHPort int
	// BootWait is how long Connect waits for a booting guest to answer
	// (agent or SSH). Default SSH.RetryUntil; 0 with both 0 = one attempt.
	BootWait time.Duration
	// GuestTempDir, when set, overrides SSH.GuestTempDir and is given to
	// the agent transport too.
	GuestTempDir string
	// SSH.Logf (if set) also receives Connect's "not ready, retrying" lines.
	// AgentProbeTimeout bounds one agent probe (tart itself waits about
	// 10 s for an absent agent). Default 15s.
	AgentProbeTimeout time.Duration
	// MaxRetryInterval caps the backoff between rounds (10 ms doubling).
	// Default 5s; a caller that wants a booting guest noticed promptly
	// (a CI job waiting on it) sets it lower.
	MaxRetryInterval time.Duration
}

// Connect returns a Transport to the guest. ModeAuto probes the guest agent
// first and uses it when it answers, else SSH; a booting guest is retried
// with backoff until BootWait. Errors: ErrAuth and *HostKeyMismatchError
// (final), ErrAgentUnavailable (ModeAgent), ErrUnreachable (nothing
// answered in time), ErrInvalidInput, or ctx's error.
func Connect(ctx context.Context, cfg Config) (Transport, error) {
	mode, err := ParseMode(string(cfg.Mode))
	if err != nil {
		return nil, err
	}
	if cfg.BootWait <= 0 {
		cfg.BootWait = cfg.SSH.RetryUntil
	}
	if cfg.AgentProbeTimeout <= 0 {
		cfg.AgentProbeTimeout = 15 * time.Second
	}
	if cfg.MaxRetryInterval <= 0 {
		cfg.MaxRetryInterval = 5 * time.Second
	}
	if cfg.SSHPort <= 0 {
		cfg.SSHPort = 22
	}
	if cfg.GuestTempDir != "" {
		cfg.SSH.GuestTempDir = cfg.GuestTempDir
	}
	hasVM := cfg.Tart != nil && cfg.VM != ""
	switch {
	case mode == ModeAgent && !hasVM:
		return nil, invalid("agent mode needs Config.Tart and Config.VM")
	case mode != ModeAgent && cfg.SSH.Addr == "" && !hasVM:
		return nil, invalid("SSH needs Config.SSH.Addr, or Config.Tart and Config.VM to find the VM's IP")
	}
	if mode != ModeAgent {
		probe := cfg.SSH
		probe.Addr = "placeholder:22" // only credentials/host key are validated here
		if _, err := probe.withDefaults().clientConfig(); err != nil {
			return nil, err
		}
	}

	c := connector{cfg: cfg, mode: mode, agentPossible: hasVM && mode != ModeSSH, start: time.Now()}
	deadline := time.Now().Add(cfg.BootWait)
	// A booting guest answers any moment: retry within milliseconds
	// first (a job waits on it), then back off.
	bo := newBackoff(min(firstRetry, cfg.MaxRetryInterval), cfg.MaxRetryInterval)
	for {
		t, err := c.attempt(ctx)
		if t != nil || err != nil {
			return t, err
		}
		wait := bo.next()
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return nil, c.giveUp()
		}
		if cfg.SSH.Logf != nil {
			cfg.SSH.Logf("guest: %s not ready yet (%s), retrying in %s", c.target(), c.causes(), min(wait, remaining).Round(time.Millisecond))
		}
		timer := time.NewTimer(min(wait, remaining))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, c.ctxDone(ctx, nil)
		case <-timer.C:
		}
	}
}

// firstRetry is the first backoff step of Connect and DialSSH.
const firstRetry = 10 * time.Millisecond

// agentRefusedWithin separates an agent that is not there yet (tart fails at
// once: no control socket) from one that hangs.
const agentRefusedWithin = 2 * time.Second

// connector holds the state of one Connect: what was tried and why it failed.
type connector struct {
	cfg           Config
	mode          Mode
	agentPossible bool // false once tart says exec can never work
	agentErr      error
	sshErr        error
	agentTally    tally
	sshTally      tally
	attempts      int
	start         time.Time
}

func (c *connector) target() string {
	if c.cfg.VM != "" {
		return "VM " + c.cfg.VM
	}
	return c.cfg.SSH.Addr
}

// attempt tries each allowed transport once. (nil, nil) means "retry".
func (c *connector) attempt(ctx context.Context) (Transport, error) {
	c.attempts++
	agentRefused := false
	if c.agentPossible {
		start := time.Now()
		a, err := c.probeAgent(ctx)
		if err == nil {
			return a, nil
		}
		agentRefused = time.Since(start) < agentRefusedWithin
		if ctx.Err() != nil {
			return nil, c.ctxDone(ctx, err)
		}
		if errors.Is(err, tart.ErrVMNotFound) {
			return nil, fmt.Errorf("guest: connecting to %s: %w", c.target(), err)
		}
		c.agentErr = err
		c.agentTally.add(err)
		if errors.Is(err, tart.ErrUnsupported) {
			c.agentPossible = false
			if c.mode == ModeAgent {
				return nil, err
			}
		}
	}
	if c.mode == ModeAgent {
		return nil, nil
	}
	s, err := c.dialSSH(ctx)
	if err == nil {
		if c.agentPossible && agentRefused {
			// A booting guest starts sshd and the agent at about the same
			// time: an agent probe that lost that race by milliseconds must
			// not pin the whole job to SSH. One more probe settles it. A
			// probe that failed slowly (an agent that hangs) is not retried.
			if a, aerr := c.probeAgent(ctx); aerr == nil {
				_ = s.Close()
				return a, nil
			}
		}
		return s, nil
	}
	if ctx.Err() != nil {
		return nil, c.ctxDone(ctx, err)
	}
	if errors.Is(err, ErrAuth) || errors.Is(err, ErrHostKeyMismatch) || errors.Is(err, ErrInvalidInput) || errors.Is(err, tart.ErrVMNotFound) {
		return nil, err
	}
	c.sshErr = err
	c.sshTally.add(err)
	return nil, nil
}

// probeAgent asks the guest agent to run `true`, bounded by AgentProbeTimeout.
func (c *connector) probeAgent(ctx context.Context) (*Agent, error) {
	a := NewAgent(c.cfg.Tart, c.cfg.VM)
	a.GuestTempDir = c.cfg.SSH.GuestTempDir
	pctx, cancel := context.WithTimeout(ctx, c.cfg.AgentProbeTimeout)
	defer cancel()
	if err := a.Ping(pctx); err != nil {
		return nil, err
	}
	return a, nil
}

// dialSSH makes one SSH attempt, resolving the VM's IP when no address is set.
func (c *connector) dialSSH(ctx context.Context) (*SSH, error) {
	cfg := c.cfg.SSH
	if cfg.Addr == "" {
		// One attempt's budget covers the lookup too: a wedged tart must
		// not hold Connect past BootWait.
		ipctx, cancel := context.WithTimeout(ctx, cfg.withDefaults().DialTimeout)
		ip, err := c.cfg.Tart.IP(ipctx, c.cfg.VM, tart.IPOptions{})
		cancel()
		if err != nil {
			return nil, &noIPError{vm: c.cfg.VM, err: err}
		}
		cfg.Addr = net.JoinHostPort(ip, strconv.Itoa(c.cfg.SSHPort))
	}
	cfg.RetryUntil = 0 // Connect's loop retries
	return DialSSH(ctx, cfg)
}

// causes sums up the failures so far, naming each transport tried.
func (c *connector) causes() string {
	var parts []string
	if !c.agentTally.empty() {
		parts = append(parts, "guest agent: "+c.agentTally.String())
	}
	if !c.sshTally.empty() {
		addr := c.cfg.SSH.Addr
		if addr == "" {
			addr = "port " + strconv.Itoa(c.cfg.SSHPort)
		}
		parts = append(parts, "SSH "+addr+": "+c.sshTally.String())
	}
	if len(parts) == 0 {
		return "no attempt made"
	}
	return strings.Join(parts, "; ")
}

// ctxDone is the error once ctx ended during an attempt (cut: err) or a
// wait. A deadline is the retry budget running out: report what the
// attempts saw, not the cut one's "context deadline exceeded".
func (c *connector) ctxDone(ctx context.Context, cut error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && (!c.agentTally.empty() || !c.sshTally.empty()) {
		return c.giveUp()
	}
	if cut != nil {
		return fmt.Errorf("guest: connecting to %s: %w (%v)", c.target(), ctx.Err(), cut)
	}
	return fmt.Errorf("guest: connecting to %s: %w (%s)", c.target(), ctx.Err(), c.causes())
}

func (c *connector) giveUp() error {
	took := time.Since(c.start).Round(100 * time.Millisecond)
	if c.mode == ModeAgent {
		return fmt.Errorf("%w: %s: tried for %s: %s", ErrAgentUnavailable, c.target(), took, c.causes())
	}
	return fmt.Errorf("%w: %s: tried for %s: %s", ErrUnreachable, c.target(), took, c.causes())
}

package gitlab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/tartanhq/tartan/guest"
	"github.com/tartanhq/tartan/tart"
)

// waitReady waits, bounded, for the guest's IP and then for SSH or the
// agent, and fails within a moment when `tart run` exits instead. Errors
// say which step timed out.
func (st *Stage) waitReady(ctx context.Context, h *tart.RunHandle, guestOS string) (guest.Transport, string, string, error) {
	s, log := st.Settings, st.Log
	// Cancel every wait as soon as tart run exits.
	wctx, stopWatch := h.Watch(ctx)
	defer stopWatch()
	died := func(step string, err error) error {
		if errors.Is(context.Cause(wctx), tart.ErrRunExited) || !h.Alive() {
			return st.vmDiedError(h.LogPath, fmt.Errorf("while waiting for %s; tart run exit code %d", step, h.ExitCode()))
		}
		return err
	}

	ip := ""
	if s.Transport != "agent" {
		t := time.Now()
		ictx, icancel := context.WithTimeout(wctx, s.IPTimeout)
		var err error
		ip, err = st.Tart.IP(ictx, st.VM, tart.IPOptions{Wait: s.IPTimeout, Resolver: st.resolver()})
		icancel()
		if err != nil {
			if e := died("its IP address", nil); e != nil {
				return nil, "", "", e
			}
			if ctx.Err() != nil {
				return nil, "", "", ctx.Err()
			}
			return nil, "", "", fmt.Errorf("%w: step \"IP address\": no IP after %s (ip_timeout): %v", ErrBootTimeout, round(s.IPTimeout), err)
		}
		log.Printf("Guest IP %s after %s", ip, since(t))
	}

	t := time.Now()
	rctx, rcancel := context.WithTimeout(wctx, s.ReadyTimeout)
	defer rcancel()
	tr, mode, err := st.connect(rctx, ip, true)
	if err != nil {
		if e := died("SSH or the guest agent", nil); e != nil {
			return nil, "", "", e
		}
		if ctx.Err() != nil {
			return nil, "", "", ctx.Err()
		}
		if errors.Is(err, guest.ErrAuth) || errors.Is(err, guest.ErrHostKeyMismatch) {
			return nil, "", "", fmt.Errorf("connecting to the guest: %w (check ssh_user, ssh_password, ssh_key_file, ssh_host_key)", err)
		}
		step := "SSH"
		if s.Transport == "agent" {
			step = "guest agent"
		}
		return nil, "", "", fmt.Errorf("%w: step %q: not reachable after %s (ready_timeout): %v", ErrBootTimeout, step, round(s.ReadyTimeout), err)
	}
	log.Printf("Connected to the guest over %s after %s", transportLabel(mode), since(t))
	return tr, mode, ip, nil
}

func transportLabel(mode string) string {
	if mode == "agent" {
		return "the Tart guest agent"
	}
	return "SSH"
}

func (st *Stage) resolver() tart.Resolver {
	switch st.Settings.IPResolver {
	case "dhcp":
		return tart.ResolverDHCP
	case "arp":
		return tart.ResolverARP
	case "agent":
		return tart.ResolverAgent
	}
	if st.Settings.Network == "bridged" {
		return tart.ResolverARP
	}
	return tart.ResolverDefault
}

// connect opens the transport. booting: keep trying until ctx ends (the
// guest is starting); otherwise one short attempt per kind.
func (st *Stage) connect(ctx context.Context, ip string, booting bool) (guest.Transport, string, error) {
	s := st.Settings
	sshCfg, err := st.sshConfig(ip)
	if err != nil {
		return nil, "", err
	}
	agent := guest.NewAgent(st.Tart, st.VM)
	switch s.Transport {
	case "ssh":
		if booting {
			sshCfg.RetryUntil = remaining(ctx)
		}
		c, err := guest.DialSSH(ctx, sshCfg)
		if err != nil {
			return nil, "", err
		}
		return c, "ssh", nil
	case "agent":
		for {
			pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			err := agent.Ping(pctx)
			cancel()
			if err == nil {
				return agent, "agent", nil
			}
			if !booting || ctx.Err() != nil {
				return nil, "", err
			}
			if !sleepCtx(ctx, 200*time.Millisecond) {
				return nil, "", err
			}
		}
	}
	// auto: the agent when it answers, else SSH; both are retried while
	// the guest boots.
	var lastErr error
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := agent.Ping(pctx)
		cancel()
		if err == nil {
			return agent, "agent", nil
		}
		lastErr = err
		if ip != "" {
			one := sshCfg
			one.RetryUntil = 0
			one.DialTimeout = min(5*time.Second, max(time.Second, remaining(ctx)))
			c, err := guest.DialSSH(ctx, one)
			if err == nil {
				return c, "ssh", nil
			}
			lastErr = err
			if errors.Is(err, guest.ErrAuth) || errors.Is(err, guest.ErrHostKeyMismatch) {
				return nil, "", err
			}
		}
		if !booting || ctx.Err() != nil {
			return nil, "", lastErr
		}
		if !sleepCtx(ctx, 200*time.Millisecond) {
			return nil, "", lastErr
		}
	}
}

func (st *Stage) sshConfig(ip string) (guest.SSHConfig, error) {
	s := st.Settings
	cfg := guest.SSHConfig{
		Addr: fmt.Sprintf("%s:%d", ip, s.SSHPort), User: s.SSHUser, Password: s.SSHPassword,
		HostKey: s.SSHHostKey, DialTimeout: 10 * time.Second,
	}
	if s.SSHKeyFile != "" {
		key, err := os.ReadFile(s.SSHKeyFile)
		if err != nil {
			return cfg, fmt.Errorf("ssh_key_file: %w", err)
		}
		cfg.PrivateKey = key
	}
	return cfg, nil
}

func remaining(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(0, time.Until(d))
	}
	return time.Minute
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

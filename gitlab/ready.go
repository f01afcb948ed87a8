package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
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
			return st.vmDiedError(h.LogPath, fmt.Errorf("while waiting for %s; tart run %s", step, h.ExitDescription()))
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
	tr, mode, err := st.connect(rctx, ip)
	if err != nil {
		if e := died("SSH or the guest agent", nil); e != nil {
			return nil, "", "", e
		}
		if ctx.Err() != nil {
			return nil, "", "", ctx.Err()
		}
		if errors.Is(err, guest.ErrAuth) || errors.Is(err, guest.ErrHostKeyMismatch) || errors.Is(err, guest.ErrInvalidInput) {
			return nil, "", "", fmt.Errorf("connecting to the guest: %w (check ssh_user, ssh_password, ssh_key_file, ssh_host_key)", err)
		}
		step := "SSH or the guest agent"
		switch s.Transport {
		case "agent":
			step = "guest agent"
		case "ssh":
			step = "SSH"
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

// connect opens the transport while the guest boots, retrying until ctx
// ends. It is guest.Connect's: the agent when it answers (re-probed once
// when sshd wins the boot race), else SSH. The mode it picked is returned
// for the job record, so later stages reuse it.
func (st *Stage) connect(ctx context.Context, ip string) (guest.Transport, string, error) {
	s := st.Settings
	sshCfg, err := st.sshConfig(ip)
	if err != nil {
		return nil, "", err
	}
	cfg := guest.Config{
		Mode: guest.ModeAuto, Tart: st.Tart, VM: st.VM, SSH: sshCfg,
		BootWait: remaining(ctx), AgentProbeTimeout: 2 * time.Second,
		// A CI job waits on this: notice a booted guest within a moment.
		MaxRetryInterval: 250 * time.Millisecond,
	}
	if st.resuming {
		// A resumed guest answers within moments of its restore.
		cfg.MaxRetryInterval = 50 * time.Millisecond
	}
	switch s.Transport {
	case "ssh":
		cfg.Mode = guest.ModeSSH
	case "agent":
		cfg.Mode = guest.ModeAgent
		cfg.AgentProbeTimeout = 3 * time.Second
	}
	if ip == "" {
		cfg.SSH.Addr = "" // agent mode: no IP was waited for
	}
	tr, err := guest.Connect(ctx, cfg)
	if err != nil {
		return nil, "", err
	}
	if _, isAgent := tr.(*guest.Agent); isAgent {
		return tr, "agent", nil
	}
	return tr, "ssh", nil
}

func (st *Stage) sshConfig(ip string) (guest.SSHConfig, error) {
	s := st.Settings
	cfg := guest.SSHConfig{
		Addr: net.JoinHostPort(ip, strconv.Itoa(s.SSHPort)), User: s.SSHUser, Password: s.SSHPassword,
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

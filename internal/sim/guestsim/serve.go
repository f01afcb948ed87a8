package guestsim

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
)

// guest is one running simulated guest: sshd, agent and their commands.
type guest struct {
	cfg   Config
	procs *procTable
	ssh   *sshServer
	agent *agentServer

	mu      sync.Mutex
	stopped bool
	done    chan struct{} // closed when shutdown finished
	bootErr error         // a listener that failed after the boot delay
}

// Serve runs the guest services in the current process (no namespace;
// shares appear as symlinks, see linkShares). Cancel ctx to stop it; the
// returned function waits for the shutdown and reports a failure that
// happened after the boot delay.
func Serve(ctx context.Context, cfg Config) (wait func() error, err error) {
	g, err := startGuest(cfg)
	if err != nil {
		return nil, err
	}
	if err := linkShares(g.cfg); err != nil {
		g.shutdown()
		return nil, err
	}
	go func() {
		<-ctx.Done()
		g.shutdown()
	}()
	return g.wait, nil
}

// startGuest validates cfg and brings the services up: at once, or after
// SSHDelay (the VM booting: until then connections are refused and the
// agent socket does not exist).
func startGuest(cfg Config) (*guest, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	key, err := loadOrCreateHostKey(cfg.VMDir, cfg.VMName)
	if err != nil {
		return nil, err
	}
	g := &guest{cfg: cfg, procs: newProcTable(), done: make(chan struct{})}
	g.ssh = newSSHServer(g, key)
	if cfg.AgentSocket != "" {
		g.agent = newAgentServer(g, cfg.AgentSocket)
	}
	if cfg.SSHDelay == 0 {
		if err := g.listen(); err != nil {
			g.shutdown()
			return nil, err
		}
		return g, nil
	}
	go func() {
		t := time.NewTimer(cfg.SSHDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-g.done:
			return
		}
		if err := g.listen(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			g.mu.Lock()
			g.bootErr = err
			g.mu.Unlock()
		}
	}()
	return g, nil
}

// listen opens sshd and the agent, unless the guest is already stopping.
func (g *guest) listen() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return nil
	}
	// The agent first: a client that finds sshd up may assume an installed
	// agent is up too (guest.Connect re-probes the agent after SSH answers).
	if g.agent != nil {
		if err := g.agent.listen(); err != nil {
			return err
		}
	}
	return g.ssh.listen()
}

// shutdown stops every service and kills every guest process group. It is
// idempotent; concurrent callers all return once it is complete.
func (g *guest) shutdown() {
	g.mu.Lock()
	if g.stopped {
		g.mu.Unlock()
		<-g.done
		return
	}
	g.stopped = true
	g.mu.Unlock()
	// Connections first: clients see the VM vanish (connection lost), not
	// their command dying. SSH sessions leave their commands running (as
	// sshd does) and the agent's kill theirs; killAll then ends every
	// command and background job, and the SSH handlers can finish.
	g.ssh.cut()
	if g.agent != nil {
		g.agent.close()
	}
	g.procs.killAll()
	g.ssh.close()
	close(g.done)
}

func (g *guest) wait() error {
	<-g.done
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.bootErr
}

// fault injects a failure into the running guest.
func (g *guest) fault(kind string) error {
	switch kind {
	case FaultDropSSH:
		g.ssh.dropAll()
		return nil
	case FaultKillAgent:
		if g.agent != nil {
			g.agent.close()
		}
		return nil
	}
	return fmt.Errorf("%w %q: use %q or %q", ErrUnknownFault, kind, FaultDropSSH, FaultKillAgent)
}

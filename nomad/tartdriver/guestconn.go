package tartdriver

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/tartanhq/tartan/guest"
	"github.com/tartanhq/tartan/supervisor"
	"github.com/tartanhq/tartan/tart"
)

// guestTarget is how to reach one task's guest.
type guestTarget struct {
	VM          string
	IP          string
	Transport   string
	SSHUser     string
	SSHPassword string
	SSHKey      []byte
	SSHPort     int
}

func (s *taskSettings) target(vm, ip string) guestTarget {
	return guestTarget{VM: vm, IP: ip, Transport: s.Transport, SSHUser: s.SSHUser,
		SSHPassword: s.SSHPassword, SSHKey: s.SSHPrivateKey, SSHPort: s.SSHPort}
}

// connectGuest opens a transport, waiting up to wait for a booting guest.
// In auto mode without any SSH credentials only the agent is tried.
func connectGuest(ctx context.Context, c *tart.Client, t guestTarget, wait time.Duration) (guest.Transport, error) {
	mode, err := guest.ParseMode(t.Transport)
	if err != nil {
		return nil, err
	}
	if mode == guest.ModeAuto && t.SSHPassword == "" && len(t.SSHKey) == 0 {
		mode = guest.ModeAgent
	}
	cfg := guest.Config{
		Mode: mode, Tart: c, VM: t.VM, SSHPort: t.SSHPort, BootWait: wait,
		SSH: guest.SSHConfig{User: t.SSHUser, Password: t.SSHPassword, PrivateKey: t.SSHKey, RetryUntil: wait},
	}
	if t.IP != "" {
		cfg.SSH.Addr = net.JoinHostPort(t.IP, strconv.Itoa(max(t.SSHPort, 1)))
	}
	tr, err := guest.Connect(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the guest of %s (transport %s): %w", t.VM, mode, err)
	}
	return tr, nil
}

// SupervisorConnector is the supervisor's way into the guest; main passes
// it to supervisor.Main.
func SupervisorConnector(ctx context.Context, s *supervisor.Spec) (guest.Transport, error) {
	c, err := tart.New(tart.Options{Binary: s.TartBinary, Home: s.TartHome, Env: []string{"CI=1"}})
	if err != nil {
		return nil, err
	}
	host, portStr, _ := net.SplitHostPort(s.SSHAddr)
	port, _ := strconv.Atoi(portStr)
	return connectGuest(ctx, c, guestTarget{VM: s.VM, IP: host, Transport: s.Transport, SSHUser: s.SSHUser,
		SSHPassword: s.SSHPassword, SSHKey: s.SSHKey, SSHPort: port}, s.ConnectWait)
}

// RunSupervisorIfRequested turns the current process into a task
// supervisor when it was started as one (see package supervisor). Call it
// first in main and in TestMain.
func RunSupervisorIfRequested() { supervisor.Main(supervisor.Config{Connect: SupervisorConnector}) }

func joinHostPort(ip string, port int) string {
	if ip == "" {
		return ""
	}
	return net.JoinHostPort(ip, strconv.Itoa(max(port, 1)))
}

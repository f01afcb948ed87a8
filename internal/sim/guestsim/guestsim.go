// Package guestsim simulates the inside of a Tart VM for tart-sim: an SSH
// server, a guest agent for `tart exec`, and directory shares. Guest
// commands are real host processes, so exit codes, signals, terminals and
// stdin behave exactly as the code under test will see them from a real VM.
//
// The package has three entry points: Serve runs the guest services inside
// the calling process (tests), Spawn/Main run them in a child process with a
// private mount namespace (tart-sim's `tart run`), and Exec is the client
// side of `tart exec`. See docs/tart-sim-guest.md.
package guestsim

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Share is one directory shared with the guest (`tart run --dir`).
type Share struct {
	Name     string // share name (guest path: macOS "/Volumes/My Shared Files/<Name>", Linux "/mnt/shared/<Name>")
	HostPath string
	ReadOnly bool
}

// Config describes one running guest. tartsim fills it from the VM's
// configuration and the TART_SIM_* knobs.
type Config struct {
	VMName       string
	VMDir        string // $TART_HOME/vms/<name>: holds the stable SSH host key
	OS           string // "darwin" or "linux"
	IP           string // 127.x.y.z unique while the VM runs (chosen by tartsim)
	SSHPort      int    // 22 by default (TART_SIM_SSH_PORT)
	User         string // image's user, default "admin"
	Password     string // default "admin"
	HomeDir      string // host directory acting as the guest user's home (holds .ssh/authorized_keys); seen by a namespaced guest at GuestHomePath
	Shares       []Share
	AgentSocket  string        // $VMDir/control.sock; "" = image has no guest agent
	SSHDelay     time.Duration // boot delay until SSH and agent answer
	SSHRefuse    bool          // fault: sshd accepts TCP then refuses (closes) every connection
	SSHDropAfter time.Duration // fault: cut every SSH connection this long after it opened
	SlowOutput   time.Duration // fault: delay per output chunk
}

// Fault kinds accepted by Guest.Fault (and `tart sim fault`).
const (
	FaultDropSSH   = "drop-ssh"   // close every current SSH connection
	FaultKillAgent = "kill-agent" // stop the guest agent and remove its socket; SSH keeps running
)

// ErrBadConfig is returned (wrapped) when a Config cannot describe a guest.
var ErrBadConfig = errors.New("guestsim: invalid guest config")

// ErrUnknownFault is returned (wrapped) by Fault for a kind it does not know.
var ErrUnknownFault = errors.New("guestsim: unknown fault")

// Defaults applied by withDefaults.
const (
	defaultUser     = "admin"
	defaultPassword = "admin"
	defaultSSHPort  = 22
)

// withDefaults fills the documented defaults and validates the rest, so that
// bad input fails at start with a message saying what to fix.
func (c Config) withDefaults() (Config, error) {
	if c.User == "" {
		c.User = defaultUser
	}
	if c.Password == "" {
		c.Password = defaultPassword
	}
	if c.SSHPort == 0 {
		c.SSHPort = defaultSSHPort
	}
	if c.OS == "" {
		c.OS = "darwin"
	}
	switch {
	case c.OS != "darwin" && c.OS != "linux":
		return c, fmt.Errorf("%w: OS %q: use \"darwin\" or \"linux\"", ErrBadConfig, c.OS)
	case net.ParseIP(c.IP) == nil:
		return c, fmt.Errorf("%w: IP %q is not an IP address", ErrBadConfig, c.IP)
	case c.SSHPort < 0 || c.SSHPort > 65535:
		return c, fmt.Errorf("%w: SSH port %d out of range 1-65535", ErrBadConfig, c.SSHPort)
	case c.User == "." || c.User == ".." || strings.ContainsAny(c.User, "/\x00"):
		return c, fmt.Errorf("%w: user %q must be a plain user name (it names the guest home)", ErrBadConfig, c.User)
	case c.HomeDir == "":
		return c, fmt.Errorf("%w: HomeDir is empty: give the host directory acting as the guest user's home", ErrBadConfig)
	case c.SSHDelay < 0 || c.SSHDropAfter < 0 || c.SlowOutput < 0:
		return c, fmt.Errorf("%w: negative delay", ErrBadConfig)
	}
	for _, s := range c.Shares {
		if s.Name == "" || s.HostPath == "" {
			return c, fmt.Errorf("%w: share %+v needs a Name and a HostPath", ErrBadConfig, s)
		}
		if strings.Contains(s.Name, "/") || s.Name == "." || s.Name == ".." {
			return c, fmt.Errorf("%w: share name %q must be a single path element", ErrBadConfig, s.Name)
		}
	}
	return c, nil
}

// GuestSharePath is where a share appears inside the guest.
func GuestSharePath(guestOS, name string) string {
	if guestOS == "linux" {
		return "/mnt/shared/" + name
	}
	return "/Volumes/My Shared Files/" + name
}

// GuestHomePath is where a spawned guest running in its own mount namespace
// (root) sees its home: HomeDir bind-mounted at /Users/<user> (darwin) or
// /home/<user> (linux). Without a namespace (non-root, Serve) the home is
// HomeDir itself.
func GuestHomePath(guestOS, user string) string {
	if guestOS == "linux" {
		return "/home/" + user
	}
	return "/Users/" + user
}

package guest

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSHConfig says how to reach and authenticate to a guest's sshd.
type SSHConfig struct {
	Addr       string // "host" or "host:port"; the port defaults to 22
	User       string
	Password   string // secret: never logged or printed
	PrivateKey []byte // PEM private key (unencrypted); used before Password when both are set; secret too
	// HostKey pins the guest's host key: an authorized_keys line
	// ("ssh-ed25519 AAAA..."), a known_hosts line, or a fingerprint
	// ("SHA256:..."). Empty accepts any key, as Tart images are usually used.
	HostKey string
	// DialTimeout bounds one attempt (TCP connect + SSH handshake). Default 10s.
	DialTimeout time.Duration
	// RetryUntil is the total time spent retrying refused or failing dials
	// (a booting VM refuses connections for a while), with exponential
	// backoff. 0 = a single attempt.
	RetryUntil time.Duration
	// KeepAlive is the interval of keepalive@openssh.com requests; the
	// connection is declared lost when KeepAliveMissed consecutive requests
	// get no reply. Default 5s; negative disables keepalives.
	KeepAlive       time.Duration
	KeepAliveMissed int // default 3
	// GuestTempDir is the guest directory for per-command private files
	// (PID, wrapper, script). "" = DefaultGuestTempDir.
	GuestTempDir string
	// Logf receives progress lines (dial retries); never secrets. May be nil.
	Logf func(format string, args ...any)
}

const (
	defaultDialTimeout     = 10 * time.Second
	defaultKeepAlive       = 5 * time.Second
	defaultKeepAliveMissed = 3
)

func (c SSHConfig) withDefaults() SSHConfig {
	if c.DialTimeout <= 0 {
		c.DialTimeout = defaultDialTimeout
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = defaultKeepAlive
	}
	if c.KeepAliveMissed <= 0 {
		c.KeepAliveMissed = defaultKeepAliveMissed
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil && c.Addr != "" {
		c.Addr = net.JoinHostPort(strings.Trim(c.Addr, "[]"), "22")
	}
	return c
}

// clientConfig builds the x/crypto client configuration, validating input.
func (c SSHConfig) clientConfig() (*ssh.ClientConfig, error) {
	if c.Addr == "" {
		return nil, invalid("SSH address is empty: set SSHConfig.Addr (or let Connect resolve it with tart ip)")
	}
	if c.User == "" {
		return nil, invalid("SSH user is empty: set SSHConfig.User (Tart images use \"admin\")")
	}
	var auths []ssh.AuthMethod
	if len(c.PrivateKey) > 0 {
		signer, err := ssh.ParsePrivateKey(c.PrivateKey)
		if err != nil {
			return nil, invalid("SSH private key cannot be parsed (%v): give an unencrypted PEM/OpenSSH key", err)
		}
		auths = append(auths, ssh.PublicKeys(signer))
	}
	if c.Password != "" {
		pw := c.Password
		auths = append(auths, ssh.Password(pw),
			ssh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
				answers := make([]string, len(qs))
				for i := range answers {
					answers[i] = pw
				}
				return answers, nil
			}))
	}
	if len(auths) == 0 {
		return nil, invalid("no SSH credentials: set SSHConfig.Password or SSHConfig.PrivateKey")
	}
	hostKey, err := hostKeyCallback(c.HostKey)
	if err != nil {
		return nil, err
	}
	return &ssh.ClientConfig{
		User:            c.User,
		Auth:            auths,
		HostKeyCallback: hostKey,
		Timeout:         c.DialTimeout,
	}, nil
}

// hostKeyCallback accepts any key when pin is empty, else only the pinned one.
func hostKeyCallback(pin string) (ssh.HostKeyCallback, error) {
	pin = strings.TrimSpace(pin)
	if pin == "" {
		return ssh.InsecureIgnoreHostKey(), nil // Tart images: host keys are per clone and unknown in advance
	}
	if strings.HasPrefix(pin, "SHA256:") {
		return func(host string, _ net.Addr, key ssh.PublicKey) error {
			if got := ssh.FingerprintSHA256(key); got != pin {
				return &HostKeyMismatchError{Addr: host, Got: got, Pinned: pin}
			}
			return nil
		}, nil
	}
	want, _, _, _, err := ssh.ParseAuthorizedKey([]byte(pin))
	if err != nil {
		// Also accept a known_hosts line ("host ssh-ed25519 AAAA...").
		if _, _, k, _, _, kerr := ssh.ParseKnownHosts([]byte(pin)); kerr == nil {
			want, err = k, nil
		}
	}
	if err != nil {
		return nil, invalid("SSHConfig.HostKey %q is neither an authorized_keys/known_hosts line nor a SHA256: fingerprint: %v", pin, err)
	}
	return func(host string, _ net.Addr, key ssh.PublicKey) error {
		if !bytes.Equal(key.Marshal(), want.Marshal()) {
			return &HostKeyMismatchError{Addr: host, Got: ssh.FingerprintSHA256(key), Pinned: ssh.FingerprintSHA256(want)}
		}
		return nil
	}, nil
}

// String, GoString and LogValue show where the config points, never the
// password or key, however it is printed (%v, %+v, %#v, slog). (JSON
// cannot encode a config at all: Logf is a func.)
func (c SSHConfig) String() string {
	return fmt.Sprintf("%s@%s", c.User, c.Addr)
}

func (c SSHConfig) GoString() string { return "guest.SSHConfig{" + c.String() + "}" }

func (c SSHConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }

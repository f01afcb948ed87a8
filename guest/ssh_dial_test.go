package guest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shoenig/test/must"
	"golang.org/x/crypto/ssh"

	"github.com/tartanhq/tartan/internal/sim/guestsim"
)

func TestDialAuthFailureIsFinal(t *testing.T) {
	noLeaks(t)
	g := startGuest(t, nil)
	cfg := g.ssh
	cfg.Password = "wrong"
	cfg.RetryUntil = 10 * time.Second
	start := time.Now()
	_, err := DialSSH(runCtx(t), cfg)
	must.ErrorIs(t, err, ErrAuth)
	must.Less(t, 3*time.Second, time.Since(start)) // not retried for RetryUntil
	must.StrNotContains(t, err.Error(), "wrong")   // the password is never in messages
}

func TestDialUnreachableIsBounded(t *testing.T) {
	noLeaks(t)
	cfg := SSHConfig{Addr: "127.0.0.1:" + strconv.Itoa(freePort(t)), User: "admin", Password: "admin",
		DialTimeout: 500 * time.Millisecond, RetryUntil: time.Second}
	start := time.Now()
	_, err := DialSSH(runCtx(t), cfg)
	must.ErrorIs(t, err, ErrUnreachable)
	elapsed := time.Since(start)
	must.Greater(t, 900*time.Millisecond, elapsed) // it did retry
	must.Less(t, 3*time.Second, elapsed)
}

func TestDialRefusingServerIsUnreachable(t *testing.T) {
	noLeaks(t)
	g := startGuest(t, func(c *guestsim.Config) { c.SSHRefuse = true })
	cfg := g.ssh
	cfg.RetryUntil = time.Second
	start := time.Now()
	_, err := DialSSH(runCtx(t), cfg)
	must.ErrorIs(t, err, ErrUnreachable)
	must.Less(t, 4*time.Second, time.Since(start))
}

func TestDialWaitsForABootingGuest(t *testing.T) {
	noLeaks(t)
	g := startGuest(t, func(c *guestsim.Config) { c.SSHDelay = 800 * time.Millisecond })
	s := dial(t, g.ssh)
	res, err := s.Run(runCtx(t), Command{Argv: []string{"true"}})
	must.NoError(t, err)
	must.Eq(t, 0, res.ExitCode)
}

func TestDialHonoursContext(t *testing.T) {
	noLeaks(t)
	cfg := SSHConfig{Addr: "127.0.0.1:" + strconv.Itoa(freePort(t)), User: "admin", Password: "admin", RetryUntil: time.Minute}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := DialSSH(ctx, cfg)
	must.ErrorIs(t, err, context.DeadlineExceeded)
	must.Less(t, 2*time.Second, time.Since(start))
}

func TestDialRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]SSHConfig{
		"no address":     {User: "admin", Password: "x"},
		"no user":        {Addr: "127.0.0.1:22", Password: "x"},
		"no credentials": {Addr: "127.0.0.1:22", User: "admin"},
		"bad key":        {Addr: "127.0.0.1:22", User: "admin", PrivateKey: []byte("not a key")},
		"bad pin":        {Addr: "127.0.0.1:22", User: "admin", Password: "x", HostKey: "ssh-ed25519 nonsense"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := DialSSH(runCtx(t), cfg)
			must.ErrorIs(t, err, ErrInvalidInput)
		})
	}
}

func TestHostKeyPinning(t *testing.T) {
	noLeaks(t)
	g := startGuest(t, nil)
	line := hostKeyLine(t, g.cfg.VMDir)
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	must.NoError(t, err)

	for name, pin := range map[string]string{
		"key":         line,
		"known_hosts": "192.168.64.2 " + line,
		"fingerprint": ssh.FingerprintSHA256(pub),
	} {
		t.Run("matching "+name, func(t *testing.T) {
			cfg := g.ssh
			cfg.HostKey = pin
			s := dial(t, cfg)
			must.NoError(t, s.Close())
		})
	}
	t.Run("mismatch", func(t *testing.T) {
		other, _, err := ed25519.GenerateKey(rand.Reader)
		must.NoError(t, err)
		otherPub, err := ssh.NewPublicKey(other)
		must.NoError(t, err)
		cfg := g.ssh
		cfg.HostKey = string(ssh.MarshalAuthorizedKey(otherPub))
		cfg.RetryUntil = 10 * time.Second
		start := time.Now()
		_, err = DialSSH(runCtx(t), cfg)
		must.ErrorIs(t, err, ErrHostKeyMismatch)
		var mismatch *HostKeyMismatchError
		must.True(t, errors.As(err, &mismatch))
		must.Eq(t, ssh.FingerprintSHA256(pub), mismatch.Got)
		must.Less(t, 3*time.Second, time.Since(start)) // final, not retried
	})
}

func TestPrivateKeyAuth(t *testing.T) {
	noLeaks(t)
	g := startGuest(t, nil)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	must.NoError(t, err)
	sshPub, err := ssh.NewPublicKey(pub)
	must.NoError(t, err)
	must.NoError(t, os.MkdirAll(filepath.Join(g.cfg.HomeDir, ".ssh"), 0o700))
	must.NoError(t, os.WriteFile(filepath.Join(g.cfg.HomeDir, ".ssh", "authorized_keys"), ssh.MarshalAuthorizedKey(sshPub), 0o600))
	block, err := ssh.MarshalPrivateKey(priv, "test")
	must.NoError(t, err)
	cfg := g.ssh
	cfg.Password = ""
	cfg.PrivateKey = pemEncode(block)
	s := dial(t, cfg)
	res, err := s.Run(runCtx(t), Command{Argv: []string{"true"}})
	must.NoError(t, err)
	must.Eq(t, 0, res.ExitCode)
}

func TestDroppedConnectionIsConnectionLost(t *testing.T) {
	noLeaks(t)
	g := startGuest(t, func(c *guestsim.Config) { c.SSHDropAfter = 500 * time.Millisecond })
	s := dial(t, g.ssh)
	start := time.Now()
	_, err := s.Run(runCtx(t), Command{Argv: []string{"sleep", "10"}})
	must.ErrorIs(t, err, ErrConnectionLost)
	must.Less(t, 5*time.Second, time.Since(start))
	// The transport stays failed: later commands fail the same way, fast.
	_, err = s.Run(runCtx(t), Command{Argv: []string{"true"}})
	must.ErrorIs(t, err, ErrConnectionLost)
}

func TestCloseDuringRun(t *testing.T) {
	noLeaks(t)
	g := startGuest(t, nil)
	s := dial(t, g.ssh)
	out := &syncBuffer{}
	ended := make(chan error, 1)
	go func() {
		_, err := s.Run(runCtx(t), Command{Script: "echo up; sleep 30", Stdout: out})
		ended <- err
	}()
	waitFor(t, "the command to start", 10*time.Second, func() bool { return out.String() != "" })
	must.NoError(t, s.Close())
	select {
	case err := <-ended:
		must.ErrorIs(t, err, ErrConnectionLost)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after Close")
	}
	_, err := s.Run(runCtx(t), Command{Argv: []string{"true"}})
	must.ErrorIs(t, err, ErrClosed)
	must.NoError(t, s.Close()) // idempotent
}

// A peer that stops answering (frozen VM, cut network without RST) is
// detected by keepalives within KeepAlive*(KeepAliveMissed+1).
func TestKeepAliveDetectsDeadPeer(t *testing.T) {
	noLeaks(t)
	g := startGuest(t, nil)
	proxy := newFreezingProxy(t, g.ssh.Addr)
	cfg := g.ssh
	cfg.Addr = proxy.addr()
	cfg.KeepAlive = 200 * time.Millisecond
	cfg.KeepAliveMissed = 3
	s := dial(t, cfg)
	out := &syncBuffer{}
	ended := make(chan error, 1)
	go func() {
		_, err := s.Run(runCtx(t), Command{Script: "echo up; sleep 30", Stdout: out})
		ended <- err
	}()
	waitFor(t, "the command to start", 10*time.Second, func() bool { return out.String() != "" })
	proxy.freeze()
	start := time.Now()
	select {
	case err := <-ended:
		must.ErrorIs(t, err, ErrConnectionLost)
		must.StrContains(t, err.Error(), "keepalive")
		must.Less(t, 2*time.Second, time.Since(start)) // bound: 200ms * (3+1) plus scheduling
	case <-time.After(10 * time.Second):
		t.Fatal("a frozen peer was not detected")
	}
}

// freezingProxy forwards TCP until frozen, then silently drops everything.
type freezingProxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	frozen chan struct{}
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newFreezingProxy(t *testing.T, target string) *freezingProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must.NoError(t, err)
	p := &freezingProxy{l: l, target: target, frozen: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *freezingProxy) addr() string { return p.l.Addr().String() }

func (p *freezingProxy) freeze() { close(p.frozen) }

func (p *freezingProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(up, c)
		go p.pipe(c, up)
	}
}

func (p *freezingProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-p.frozen:
			_, _ = io.Copy(io.Discard, src) // black hole until closed
			return
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *freezingProxy) close() {
	_ = p.l.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func TestDialRetryLogsCarryNoSecret(t *testing.T) {
	noLeaks(t)
	const password = "pw-Zq8-s3cret"
	g := startGuest(t, func(c *guestsim.Config) { c.SSHDelay = 600 * time.Millisecond; c.Password = password })
	var mu sync.Mutex
	var lines []string
	cfg := g.ssh
	cfg.Logf = func(f string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, fmt.Sprintf(f, args...))
	}
	s := dial(t, cfg)
	must.NoError(t, s.Close())
	mu.Lock()
	defer mu.Unlock()
	must.SliceNotEmpty(t, lines)
	for _, l := range lines {
		must.StrNotContains(t, l, password)
	}
}

// However a configuration is printed or logged, the password
// and the private key stay out.
func TestSSHConfigNeverShowsSecrets(t *testing.T) {
	password, key := "pw-"+strconv.Itoa(os.Getpid())+"-secret", []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWtleQ==\n")
	ssh := SSHConfig{Addr: "10.0.0.2:22", User: "admin", Password: password, PrivateKey: key}
	cfg := Config{VM: "vm", SSH: ssh}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("connecting", "ssh", ssh, "config", cfg)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("connecting", "ssh", ssh, "config", cfg)
	for _, s := range []string{
		fmt.Sprintf("%v %+v %#v %s", ssh, ssh, ssh, ssh),
		fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg),
		logged.String(),
	} {
		must.StrContains(t, s, "admin@10.0.0.2:22")
		must.StrNotContains(t, s, password)
		must.StrNotContains(t, s, "c2VjcmV0LWtleQ")
		must.StrNotContains(t, s, base64.StdEncoding.EncodeToString(key)[:20])
	}
}

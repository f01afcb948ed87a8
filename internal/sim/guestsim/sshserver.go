package guestsim

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// handshakeTimeout bounds a client that connects and never speaks.
const handshakeTimeout = 30 * time.Second

// sshServer is the guest's sshd.
type sshServer struct {
	g    *guest
	conf *ssh.ServerConfig
	ln   net.Listener

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newSSHServer(g *guest, hostKey ssh.Signer) *sshServer {
	s := &sshServer{g: g, conns: map[net.Conn]struct{}{}}
	s.conf = &ssh.ServerConfig{
		PasswordCallback:  s.checkPassword,
		PublicKeyCallback: s.checkKey,
		ServerVersion:     "SSH-2.0-OpenSSH_9.8",
	}
	s.conf.AddHostKey(hostKey)
	return s
}

var errAuth = errors.New("permission denied")

func (s *sshServer) checkPassword(md ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
	cfg := s.g.cfg
	userOK := subtle.ConstantTimeCompare([]byte(md.User()), []byte(cfg.User)) == 1
	pwOK := subtle.ConstantTimeCompare(pw, []byte(cfg.Password)) == 1
	if userOK && pwOK {
		return &ssh.Permissions{}, nil
	}
	return nil, errAuth
}

// checkKey reads authorized_keys on every attempt, like sshd, so keys added
// by a test (or a provisioning step) apply to the next connection.
func (s *sshServer) checkKey(md ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	if md.User() != s.g.cfg.User {
		return nil, errAuth
	}
	b, err := os.ReadFile(filepath.Join(s.g.cfg.HomeDir, ".ssh", "authorized_keys"))
	if err != nil {
		return nil, errAuth
	}
	want := key.Marshal()
	for len(b) > 0 {
		k, _, _, rest, err := ssh.ParseAuthorizedKey(b)
		if err != nil {
			break
		}
		if bytes.Equal(k.Marshal(), want) {
			return &ssh.Permissions{}, nil
		}
		b = rest
	}
	return nil, errAuth
}

// listen binds the SSH port on the guest's IP.
func (s *sshServer) listen() error {
	addr := net.JoinHostPort(s.g.cfg.IP, strconv.Itoa(s.g.cfg.SSHPort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EACCES) && s.g.cfg.SSHPort < 1024 {
			return fmt.Errorf("guestsim: sshd cannot listen on %s: %w (ports below 1024 need root: set TART_SIM_SSH_PORT to a higher port)", addr, err)
		}
		return fmt.Errorf("guestsim: sshd cannot listen on %s: %w", addr, err)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.acceptLoop()
	return nil
}

func (s *sshServer) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // listener closed
		}
		if s.g.cfg.SSHRefuse {
			_ = c.Close() // fault: TCP accepted, then the connection is refused
			continue
		}
		if !s.track(c) {
			_ = c.Close()
			return
		}
		s.wg.Add(1)
		go s.serveConn(c)
	}
}

// track registers a connection so dropAll and shutdown can cut it. It
// refuses once the server is closing.
func (s *sshServer) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *sshServer) untrack(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

func (s *sshServer) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer s.untrack(c)
	defer c.Close()
	if d := s.g.cfg.SSHDropAfter; d > 0 {
		t := time.AfterFunc(d, func() { _ = c.Close() })
		defer t.Stop()
	}
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	sc, chans, reqs, err := ssh.NewServerConn(c, s.conf)
	if err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	defer sc.Close()
	// Global requests (keepalive@openssh.com...) get a failure reply, as
	// from OpenSSH: any reply proves the server is alive.
	go ssh.DiscardRequests(reqs)
	var sessions sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only session channels are supported")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		sessions.Add(1)
		go func() {
			defer sessions.Done()
			newSSHSession(s.g, sc, ch).serve(creqs)
		}()
	}
	// The connection is gone: every session sees its channel closed and
	// kills what it still runs.
	sessions.Wait()
}

// dropAll cuts every open connection (fault "drop-ssh").
func (s *sshServer) dropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.Close()
	}
}

// close stops accepting, cuts every connection and waits for the handlers.
func (s *sshServer) close() {
	s.cut()
	s.wg.Wait()
}

// cut stops accepting and cuts every connection without waiting: a handler
// whose command still runs returns only once that command has ended (sshd
// kills nothing), so a stopping guest kills the commands in between.
func (s *sshServer) cut() {
	if s.ln != nil {
		_ = s.ln.Close()
	}
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.conns = nil
	s.mu.Unlock()
}

package guestsim

import (
	"fmt"
	"net"
	"sync"

	"golang.org/x/crypto/ssh"
)

// sshSession is one "session" channel: at most one command, plus the
// terminal and signal requests that go with it (RFC 4254 §6).
type sshSession struct {
	g    *guest
	conn *ssh.ServerConn
	ch   ssh.Channel

	pty        *ptySpec
	unreported *process // started; its wait-and-report begins after the reply
	mu         sync.Mutex
	proc       *process
	exited     chan struct{} // closed once exit-status/exit-signal was sent
	started    bool
}

func newSSHSession(g *guest, conn *ssh.ServerConn, ch ssh.Channel) *sshSession {
	return &sshSession{g: g, conn: conn, ch: ch, exited: make(chan struct{})}
}

// Payloads of the channel requests we understand (RFC 4254).
type (
	ptyReqMsg struct {
		Term                          string
		Cols, Rows, WidthPx, HeightPx uint32
		Modes                         string
	}
	windowChangeMsg struct{ Cols, Rows, WidthPx, HeightPx uint32 }
	execMsg         struct{ Command string }
	signalMsg       struct{ Signal string }
	exitStatusMsg   struct{ Status uint32 }
	exitSignalMsg   struct {
		Signal     string
		CoreDumped bool
		Message    string
		Lang       string
	}
)

func (s *sshSession) serve(reqs <-chan *ssh.Request) {
	defer s.ch.Close()
	for req := range reqs {
		ok := s.handle(req)
		if req.WantReply {
			_ = req.Reply(ok, nil)
		}
		// The exit report may only follow the exec/shell reply: a fast
		// command would otherwise close the channel before the client
		// learnt that its request succeeded.
		if p := s.unreported; p != nil {
			s.unreported = nil
			go s.waitAndReport(p)
		}
	}
	// The client closed the channel or the connection died. A command still
	// running loses its session but is not killed (sshd kills nothing): its
	// pipes or terminal hang up.
	s.mu.Lock()
	p, started := s.proc, s.started
	s.mu.Unlock()
	if p != nil {
		p.hangUp()
	}
	if started {
		<-s.exited
	}
}

func (s *sshSession) handle(req *ssh.Request) bool {
	switch req.Type {
	case "pty-req":
		var m ptyReqMsg
		if ssh.Unmarshal(req.Payload, &m) != nil || s.isStarted() {
			return false
		}
		s.pty = &ptySpec{Term: m.Term, Cols: clampDim(m.Cols), Rows: clampDim(m.Rows)}
		return true
	case "env":
		return false // like sshd without AcceptEnv: variables are never passed this way
	case "exec":
		var m execMsg
		if ssh.Unmarshal(req.Payload, &m) != nil {
			return false
		}
		return s.start(&m.Command)
	case "shell":
		return s.start(nil)
	case "window-change":
		var m windowChangeMsg
		if ssh.Unmarshal(req.Payload, &m) != nil {
			return false
		}
		if p := s.process(); p != nil {
			return p.resize(clampDim(m.Cols), clampDim(m.Rows)) == nil
		}
		if s.pty != nil {
			s.pty.Cols, s.pty.Rows = clampDim(m.Cols), clampDim(m.Rows)
			return true
		}
		return false
	case "signal":
		var m signalMsg
		if ssh.Unmarshal(req.Payload, &m) != nil {
			return false
		}
		sig, err := parseSignal(m.Signal)
		p := s.process()
		if err != nil || p == nil {
			return false
		}
		return p.signal(sig) == nil
	default:
		// subsystem (no SFTP), keepalive@openssh.com, x11-req...: refused,
		// which still answers a keepalive.
		return false
	}
}

func (s *sshSession) isStarted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started
}

func (s *sshSession) process() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

// start runs the session's command (nil = interactive login shell).
func (s *sshSession) start(command *string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return false
	}
	spec := sshCommandSpec(s.g.cfg, command, s.pty, s.connectionEnv())
	streams := ioStreams{Stdin: s.ch, Stdout: s.ch, Stderr: s.ch.Stderr()}
	p, err := startProcess(s.g.procs, spec, s.pty, streams, s.g.cfg.SlowOutput)
	if err != nil {
		fmt.Fprintf(s.ch.Stderr(), "guestsim: cannot start %s: %v\r\n", spec.Path, err)
		return false
	}
	s.proc, s.started, s.unreported = p, true, p
	return true
}

// waitAndReport sends the command's end the way OpenSSH does: EOF, then
// exit-status (or exit-signal), then close.
func (s *sshSession) waitAndReport(p *process) {
	defer close(s.exited)
	ws := p.wait()
	_ = s.ch.CloseWrite()
	code, sig, core := exitOf(ws)
	if sig != "" {
		_, _ = s.ch.SendRequest("exit-signal", false, ssh.Marshal(exitSignalMsg{Signal: sig, CoreDumped: core}))
	} else {
		_, _ = s.ch.SendRequest("exit-status", false, ssh.Marshal(exitStatusMsg{Status: uint32(code)}))
	}
	_ = s.ch.Close()
}

// connectionEnv is what sshd adds about the connection itself.
func (s *sshSession) connectionEnv() []string {
	rh, rp, _ := net.SplitHostPort(s.conn.RemoteAddr().String())
	lh, lp, _ := net.SplitHostPort(s.conn.LocalAddr().String())
	return []string{
		"SSH_CLIENT=" + rh + " " + rp + " " + lp,
		"SSH_CONNECTION=" + rh + " " + rp + " " + lh + " " + lp,
	}
}

// clampDim keeps a terminal dimension in the kernel's range; 0 becomes the
// classic default.
func clampDim(v uint32) uint16 {
	switch {
	case v == 0:
		return 0
	case v > 0xffff:
		return 0xffff
	}
	return uint16(v)
}

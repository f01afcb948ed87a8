package guestsim

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"sync"
)

// agentServer is the simulated tart-guest-agent: it runs argv directly (no
// shell) for `tart exec`, reachable through the VM's control socket.
type agentServer struct {
	g    *guest
	path string
	ln   net.Listener

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newAgentServer(g *guest, path string) *agentServer {
	return &agentServer{g: g, path: path, conns: map[net.Conn]struct{}{}}
}

func (a *agentServer) listen() error {
	a.mu.Lock()
	killed := a.conns == nil
	a.mu.Unlock()
	if killed {
		return nil // "kill-agent" came during boot: the agent never starts
	}
	// A socket left by a crashed VM would make bind fail (openai/tart#1220
	// is the real-world version of this trap).
	if err := os.Remove(a.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("guestsim: removing stale agent socket: %w", err)
	}
	ln, err := listenUnix(a.path)
	if err != nil {
		return fmt.Errorf("guestsim: guest agent cannot listen on %s: %w", a.path, err)
	}
	a.ln = ln
	a.wg.Add(1)
	go a.acceptLoop()
	return nil
}

func (a *agentServer) acceptLoop() {
	defer a.wg.Done()
	for {
		c, err := a.ln.Accept()
		if err != nil {
			return
		}
		a.mu.Lock()
		if a.conns == nil {
			a.mu.Unlock()
			_ = c.Close()
			return
		}
		a.conns[c] = struct{}{}
		a.mu.Unlock()
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.serveConn(c)
			a.mu.Lock()
			delete(a.conns, c)
			a.mu.Unlock()
		}()
	}
}

// close stops the agent: socket removed, connections cut (their commands
// are killed by serveConn), handlers waited for.
func (a *agentServer) close() {
	if a.ln != nil {
		_ = a.ln.Close()
		_ = os.Remove(a.path)
	}
	a.mu.Lock()
	for c := range a.conns {
		_ = c.Close()
	}
	a.conns = nil
	a.mu.Unlock()
	a.wg.Wait()
}

// serveConn runs one exec stream.
func (a *agentServer) serveConn(c net.Conn) {
	defer c.Close()
	fw := &frameWriter{w: c}
	first, err := readFrame(c)
	if err != nil {
		return
	}
	if first.Type != frameExec {
		_ = fw.send(frame{Type: frameError, Message: "expected an exec request first, got " + first.Type})
		return
	}
	var tty *ptySpec
	if first.TTY {
		tty = &ptySpec{Term: "xterm-256color", Cols: first.Cols, Rows: first.Rows}
	}
	spec, err := agentCommandSpec(a.g.cfg, first.Argv, tty)
	if err != nil {
		_ = fw.send(frame{Type: frameError, Message: err.Error()})
		return
	}
	streams := ioStreams{Stdout: &streamWriter{fw: fw, kind: frameStdout}, Stderr: &streamWriter{fw: fw, kind: frameStderr}}
	var stdin *bufPipe
	if first.Interactive {
		stdin = newBufPipe()
		defer stdin.Close()
		streams.Stdin = stdin
	}
	p, err := startProcess(a.g.procs, spec, tty, streams, a.g.cfg.SlowOutput)
	if err != nil {
		_ = fw.send(frame{Type: frameError, Message: err.Error()})
		return
	}
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		code, sig, _ := exitOf(p.wait())
		_ = fw.send(frame{Type: frameExit, Code: code, Signal: sig})
		_ = c.Close() // ends the request reader below
	}()
	a.readRequests(c, p, stdin)
	// The client is gone (or the command finished and we closed). A command
	// still running has lost its caller: kill its group.
	p.kill()
	<-exited
}

// readRequests applies client frames until the connection ends.
func (a *agentServer) readRequests(c net.Conn, p *process, stdin *bufPipe) {
	for {
		f, err := readFrame(c)
		if err != nil {
			return
		}
		switch f.Type {
		case frameStdin:
			if stdin != nil {
				_, _ = stdin.Write(f.Data)
			}
		case frameStdinEOF:
			if stdin != nil {
				_ = stdin.Close()
			}
		case frameResize:
			_ = p.resize(f.Cols, f.Rows)
		case frameSignal:
			if sig, err := parseSignal(f.Signal); err == nil {
				_ = p.signal(sig)
			}
		}
	}
}

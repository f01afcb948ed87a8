//go:build unix

package guest

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"
)

// hostTerminal is the pseudo-terminal `tart exec -t` runs on: tart reads
// its size (and SIGWINCH) from it and writes both guest streams to it.
type hostTerminal struct {
	master   *os.File
	out      *gatedWriter
	copyDone chan struct{}
	once     sync.Once
}

// startInTerminal starts cmd as the session leader of a new terminal of
// size p whose output is copied to out.
func startInTerminal(cmd *exec.Cmd, p *PTY, out io.Writer) (*hostTerminal, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoTerminal, err)
	}
	defer slave.Close() // the child has its own copy once started
	// Raw before tart starts: stdin written now would otherwise be echoed
	// (and line-edited) by this terminal as well as by the guest's, until
	// tart gets round to switching it to raw itself. The guest's terminal
	// is the only one that should echo, translate newlines or handle ^C.
	if _, err := term.MakeRaw(int(slave.Fd())); err != nil {
		_ = master.Close()
		return nil, fmt.Errorf("%w: raw mode: %v", errNoTerminal, err)
	}
	if err := pty.Setsize(master, winsize(WindowSize{Cols: p.Cols, Rows: p.Rows})); err != nil {
		_ = master.Close()
		return nil, fmt.Errorf("%w: %v", errNoTerminal, err)
	}
	term := p.Term
	if term == "" {
		term = "xterm-256color"
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.Env = append(cmd.Env, "TERM="+term)
	// A new session whose controlling terminal is the slave (fd 0); it is
	// also a process group, so cancelling still kills the whole group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		_ = master.Close()
		return nil, fmt.Errorf("guest: starting tart exec -t: %w", err)
	}
	t := &hostTerminal{master: master, out: &gatedWriter{w: out}, copyDone: make(chan struct{})}
	go func() {
		defer close(t.copyDone)
		_, _ = io.Copy(t.out, master) // ends with EIO once every slave copy is closed
	}()
	return t, nil
}

func winsize(ws WindowSize) *pty.Winsize {
	return &pty.Winsize{Cols: uint16(ws.Cols), Rows: uint16(ws.Rows)}
}

func (t *hostTerminal) resize(ws WindowSize) {
	if ws.Cols > 0 && ws.Rows > 0 {
		_ = pty.Setsize(t.master, winsize(ws))
	}
}

// input is where stdin goes. Closing it does not close the terminal (that
// would cut the output too); a PTY command gets EOF from a ^D in its input.
func (t *hostTerminal) input() io.WriteCloser { return nopCloser{t.master} }

// terminalDrainWait bounds each wait for the output copier: it ends only
// when every process holding the terminal has closed it.
const terminalDrainWait = 2 * time.Second

// drain waits (bounded) for the output still buffered in the terminal.
func (t *hostTerminal) drain() {
	select {
	case <-t.copyDone:
	case <-time.After(terminalDrainWait):
	}
}

// close releases the terminal. The copier's read cannot be interrupted
// (creack/pty's master is a blocking descriptor, so Close does not wake
// it): if something that outlived tart still holds the terminal, close
// gives up waiting after terminalDrainWait and the copier ends, without
// writing anything more, once that process lets go.
func (t *hostTerminal) close() {
	t.once.Do(func() {
		t.out.shut()
		_ = t.master.Close()
		select {
		case <-t.copyDone:
		case <-time.After(terminalDrainWait):
		}
	})
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// gatedWriter stops passing writes on once shut: the caller's writer is
// not touched after Run returned.
type gatedWriter struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return 0, os.ErrClosed
	}
	return g.w.Write(p)
}

func (g *gatedWriter) shut() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

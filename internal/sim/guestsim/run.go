package guestsim

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
)

// outputDrain bounds how long a finished command's output is still copied
// when a background process keeps its stdout open. sshd would wait forever;
// the simulator prefers to end the session.
const outputDrain = 2 * time.Second

// ioStreams connects a guest command to its client. Stdin nil means no
// input (/dev/null). With a PTY, Stderr is unused: both streams arrive on
// Stdout, as on a real terminal.
type ioStreams struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// process is one running guest command.
type process struct {
	procs  *procTable
	cmd    *exec.Cmd
	pgid   int
	ptmx   *os.File      // nil without a terminal
	ptyOut chan struct{} // closed when the terminal output copy ended
	mu     sync.Mutex
	done   bool
}

// startProcess starts spec in its own process group (its own session with a
// controlling terminal when pty is set) and registers it with the guest.
func startProcess(procs *procTable, spec commandSpec, tty *ptySpec, s ioStreams, slow time.Duration) (*process, error) {
	cmd := &exec.Cmd{Path: spec.Path, Args: spec.Args, Env: spec.Env, Dir: spec.Dir}
	p := &process{procs: procs, cmd: cmd}
	if slow > 0 {
		s.Stdout = &slowWriter{w: s.Stdout, d: slow}
		if s.Stderr != nil {
			s.Stderr = &slowWriter{w: s.Stderr, d: slow}
		}
	}
	if tty != nil {
		err := procs.start(cmd, func() error {
			var err error
			p.ptmx, err = pty.StartWithAttrs(cmd, &pty.Winsize{Cols: tty.Cols, Rows: tty.Rows}, ttyAttrs())
			return err
		})
		if err != nil {
			return nil, err
		}
		p.pgid = cmd.Process.Pid
		p.ptyOut = make(chan struct{})
		go func() {
			defer close(p.ptyOut)
			_, _ = io.Copy(s.Stdout, p.ptmx) // ends with EIO once every holder of the terminal is gone
		}()
		if s.Stdin != nil {
			go func() { _, _ = io.Copy(p.ptmx, s.Stdin) }()
		}
		return p, nil
	}
	cmd.SysProcAttr = groupAttrs()
	cmd.Stdout, cmd.Stderr = s.Stdout, s.Stderr
	cmd.WaitDelay = outputDrain
	var stdin io.WriteCloser
	if s.Stdin != nil {
		var err error
		if stdin, err = cmd.StdinPipe(); err != nil {
			return nil, err
		}
	}
	if err := procs.start(cmd, cmd.Start); err != nil {
		return nil, err
	}
	p.pgid = cmd.Process.Pid
	if stdin != nil {
		go func() {
			_, _ = io.Copy(stdin, s.Stdin)
			_ = stdin.Close() // forwards the client's EOF
		}()
	}
	return p, nil
}

// wait waits for the command and its output, then returns how it ended.
func (p *process) wait() syscall.WaitStatus {
	// Wait's error only repeats the exit status or reports undrained
	// output (WaitDelay); how the process ended is in ProcessState.
	_ = p.cmd.Wait()
	if p.ptmx != nil {
		select {
		case <-p.ptyOut:
		case <-time.After(outputDrain):
		}
	}
	p.mu.Lock()
	p.done = true
	if p.ptmx != nil {
		_ = p.ptmx.Close() // under mu: resize never touches a closed terminal
	}
	p.mu.Unlock()
	if p.ptmx != nil {
		<-p.ptyOut
	}
	// An empty group's id may be reused by an unrelated process: stop
	// tracking it. A group with background jobs left stays tracked until
	// the guest stops (sshd leaves them running too).
	if signalGroup(p.pgid, 0) != nil {
		p.procs.forget(p.pgid)
	}
	if p.cmd.ProcessState == nil {
		return syscall.WaitStatus(1 << 8) // not reaped: cannot happen after a successful Start
	}
	return p.cmd.ProcessState.Sys().(syscall.WaitStatus)
}

// signal delivers sig to the command's process group (like sshd and the
// agent do), unless the command already finished.
func (p *process) signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return errors.New("guestsim: command already finished")
	}
	return signalGroup(p.pgid, sig)
}

// kill ends the whole process group: the client went away.
func (p *process) kill() { _ = p.signal(syscall.SIGKILL) }

// resize changes the terminal size; the kernel sends SIGWINCH.
func (p *process) resize(cols, rows uint16) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ptmx == nil || p.done {
		return errors.New("guestsim: no terminal to resize")
	}
	return pty.Setsize(p.ptmx, &pty.Winsize{Cols: cols, Rows: rows})
}

// slowWriter simulates a slow guest (TART_SIM_SLOW_OUTPUT).
type slowWriter struct {
	w io.Writer
	d time.Duration
}

func (s *slowWriter) Write(b []byte) (int, error) {
	time.Sleep(s.d) // the fault being simulated, not synchronisation
	return s.w.Write(b)
}

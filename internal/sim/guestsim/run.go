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
	"golang.org/x/sys/unix"
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
	// Without a terminal: the read ends of the stdout/stderr pipes (nil
	// when discarded) and when their copies ended.
	outputs []*os.File
	copied  chan struct{}
	mu      sync.Mutex
	done    bool
	hungUp  bool
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
	// Own pipes, not os/exec's: when the client goes away their read ends
	// are closed at once, as sshd's exit closes them, so the command gets
	// SIGPIPE/EPIPE on its next write instead of blocking on a full pipe.
	var writeEnds []*os.File
	for _, dst := range []io.Writer{s.Stdout, s.Stderr} {
		if dst == nil {
			p.outputs = append(p.outputs, nil)
			writeEnds = append(writeEnds, nil)
			continue
		}
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(p.outputs...)
			closeAll(writeEnds...)
			return nil, err
		}
		p.outputs, writeEnds = append(p.outputs, r), append(writeEnds, w)
	}
	if writeEnds[0] != nil {
		cmd.Stdout = writeEnds[0]
	}
	if writeEnds[1] != nil {
		cmd.Stderr = writeEnds[1]
	}
	var stdin io.WriteCloser
	if s.Stdin != nil {
		var err error
		if stdin, err = cmd.StdinPipe(); err != nil {
			closeAll(p.outputs...)
			closeAll(writeEnds...)
			return nil, err
		}
	}
	err := procs.start(cmd, cmd.Start)
	closeAll(writeEnds...) // the command has its own copies
	if err != nil {
		closeAll(p.outputs...)
		return nil, err
	}
	p.pgid = cmd.Process.Pid
	p.copied = make(chan struct{})
	var wg sync.WaitGroup
	for i, dst := range []io.Writer{s.Stdout, s.Stderr} {
		if r := p.outputs[i]; r != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(dst, r)
				// EOF, or the client is gone: a reader that stops reading
				// must not leave the writer blocked on a full pipe.
				_ = r.Close()
			}()
		}
	}
	go func() { wg.Wait(); close(p.copied) }()
	if stdin != nil {
		go func() {
			_, _ = io.Copy(stdin, s.Stdin)
			_ = stdin.Close() // forwards the client's EOF (or its disappearance)
		}()
	}
	return p, nil
}

func closeAll(fs ...*os.File) {
	for _, f := range fs {
		if f != nil {
			_ = f.Close()
		}
	}
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
	if p.copied != nil {
		select {
		case <-p.copied:
		case <-time.After(outputDrain):
			closeAll(p.outputs...) // a background child keeps the output open
			<-p.copied
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

// kill ends the whole process group (the agent's caller went away).
func (p *process) kill() { _ = p.signal(syscall.SIGKILL) }

// hangUp is what happens to a running command when its SSH connection or
// channel drops, as with OpenSSH's sshd, which kills nothing: without a
// terminal the pipes close (EOF on stdin, SIGPIPE/EPIPE on the next write);
// with one the terminal's master side closes and the kernel hangs the
// terminal up (SIGHUP and SIGCONT to the session leader, EIO on its fds).
func (p *process) hangUp() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done || p.hungUp {
		return
	}
	p.hungUp = true
	if p.ptmx != nil {
		// The kernel's hang-up of a terminal whose master closed: SIGHUP
		// and SIGCONT to the session leader. Sent here because closing
		// ptmx is deferred while its reader is blocked in read(2).
		_ = unix.Kill(p.cmd.Process.Pid, syscall.SIGHUP)
		_ = unix.Kill(p.cmd.Process.Pid, syscall.SIGCONT)
		_ = p.ptmx.Close()
		return
	}
	closeAll(p.outputs...)
}

// resize changes the terminal size; the kernel sends SIGWINCH.
func (p *process) resize(cols, rows uint16) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ptmx == nil || p.done || p.hungUp {
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

package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Local is a host command run by the supervisor (local mode), e.g. the
// attached `container start --attach <id>` of an Apple container task: its
// stdout and stderr go to the task's log FIFOs, its exit status becomes
// exit.json, and signals sent to the supervisor reach the workload through
// the Config.Signal callback (`container kill -s`), because the attached
// CLI does not reliably forward them itself.
type Local struct {
	Argv   []string // the command; Argv[0] is a path or found in PATH of Env
	Env    []string // its complete environment (nil = none)
	Dir    string   // its working directory ("" = the state directory)
	Target string   // what the Signaler addresses, e.g. the container ID
}

// Signaler delivers a signal ("TERM", "USR1", "RTMIN+3"...) to a local
// command's workload.
type Signaler func(ctx context.Context, l *Local, sig string) error

const (
	// stderrTailMax is how much of a local command's stderr exit.json keeps.
	stderrTailMax = 4 << 10
	// localDrainWait bounds the wait for the command's output pipes after
	// it exited (a grandchild may hold them open).
	localDrainWait = 5 * time.Second
	// signalTimeout bounds one Signaler call.
	signalTimeout = 30 * time.Second
)

// superviseLocal runs spec.Local to its end.
func superviseLocal(spec *Spec, signal Signaler, sigFIFO *os.File, osSigs <-chan os.Signal, logger *log.Logger) Exit {
	l := spec.Local
	if len(l.Argv) == 0 {
		return Exit{ExitCode: -1, Err: "local mode needs a command"}
	}
	stdout, stderr, closeOutputs, err := localOutputs(spec, logger)
	if err != nil {
		return Exit{ExitCode: -1, Err: err.Error()}
	}
	defer closeOutputs()

	tail := &tailBuffer{max: stderrTailMax}
	cmd := exec.Command(l.Argv[0], l.Argv[1:]...)
	cmd.Env = l.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Dir = l.Dir
	if cmd.Dir == "" {
		cmd.Dir = spec.StateDir
	}
	cmd.Stdout = stdout
	cmd.Stderr = io.MultiWriter(tail, stderr)
	cmd.WaitDelay = localDrainWait
	if err := cmd.Start(); err != nil {
		// Nothing of this reaches the task's logs: it is the driver's error.
		return Exit{ExitCode: -1, Err: fmt.Sprintf("starting %s: %v", l.Argv[0], err)}
	}

	deliver := func(name string) {
		if signal != nil {
			ctx, cancel := context.WithTimeout(context.Background(), signalTimeout)
			err := signal(ctx, l, name)
			cancel()
			if err != nil {
				logger.Printf("delivering %s to %s: %v", name, l.Target, err)
			}
			return
		}
		sig, ok := signalByName[name]
		if !ok {
			logger.Printf("ignoring unknown signal %q", name)
			return
		}
		_ = cmd.Process.Signal(sig)
	}
	names := make(chan string, 8)
	go readSignals(sigFIFO, names)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case n := <-names:
				deliver(n)
			case s := <-osSigs:
				deliver(signalName(s))
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	wg.Wait()
	e := localExit(cmd, err)
	e.StderrTail = tail.String()
	return e
}

// localExit turns how the command ended into an Exit. A command killed by
// a signal did not report the workload's status: that is an unknown
// outcome (Err), not an exit code.
func localExit(cmd *exec.Cmd, err error) Exit {
	st := cmd.ProcessState
	if st == nil {
		return Exit{ExitCode: -1, Err: fmt.Sprintf("waiting for %s: %v", cmd.Path, err)}
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		name := signalName(ws.Signal())
		return Exit{ExitCode: -1, Signal: name,
			Err: fmt.Sprintf("%s was killed by SIG%s before the workload's exit status was known", cmd.Path, name)}
	}
	// exec.ErrWaitDelay: it exited, but something kept its output open;
	// its exit status is still its own.
	if err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return Exit{ExitCode: -1, Err: fmt.Sprintf("waiting for %s: %v", cmd.Path, err)}
		}
	}
	return Exit{ExitCode: st.ExitCode()}
}

// localOutputs opens the log FIFOs; without a path the stream is dropped
// (log collection disabled). Write errors never reach the command: a lost
// log reader must not kill the workload through a broken pipe.
func localOutputs(spec *Spec, logger *log.Logger) (io.Writer, io.Writer, func(), error) {
	var closers []io.Closer
	open := func(path, stream string) (io.Writer, error) {
		if path == "" {
			return io.Discard, nil
		}
		w, err := newFIFOWriter(context.Background(), path, fifoWait)
		if err != nil {
			return nil, err
		}
		closers = append(closers, w)
		return &forgivingWriter{w: w, stream: stream, logger: logger}, nil
	}
	closeAll := func() {
		for _, c := range closers {
			_ = c.Close()
		}
	}
	stdout, err := open(spec.StdoutPath, "stdout")
	if err != nil {
		return nil, nil, nil, err
	}
	stderr, err := open(spec.StderrPath, "stderr")
	if err != nil {
		closeAll()
		return nil, nil, nil, err
	}
	return stdout, stderr, closeAll, nil
}

// forgivingWriter reports every write as done and logs the first failure.
type forgivingWriter struct {
	w      io.Writer
	stream string
	logger *log.Logger
	failed bool
}

func (f *forgivingWriter) Write(p []byte) (int, error) {
	if _, err := f.w.Write(p); err != nil && !f.failed {
		f.failed = true
		f.logger.Printf("task %s log: %v (output dropped from here on while it fails)", f.stream, err)
	} else if err == nil {
		f.failed = false
	}
	return len(p), nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// signalName is "TERM" for SIGTERM; signals without a short name get their
// number.
func signalName(s os.Signal) string {
	for name, sig := range signalByName {
		if sig == s {
			return name
		}
	}
	if n, ok := s.(syscall.Signal); ok {
		return fmt.Sprint(int(n))
	}
	return s.String()
}

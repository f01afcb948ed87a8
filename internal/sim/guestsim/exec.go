package guestsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

// ErrAgentUnreachable: the control socket does not answer (no agent in the
// image, VM still booting, agent killed). The concrete error is an
// *AgentUnreachableError whose message is tart's "<desc>".
var ErrAgentUnreachable = errors.New("guest agent unreachable")

// AgentUnreachableError carries why the agent could not be reached.
type AgentUnreachableError struct {
	Socket string
	Err    error
}

func (e *AgentUnreachableError) Error() string        { return e.Err.Error() }
func (e *AgentUnreachableError) Unwrap() error        { return e.Err }
func (e *AgentUnreachableError) Is(target error) bool { return target == ErrAgentUnreachable }

// ErrExecFailed: the agent could not start the command (program not found,
// not executable...). tart reports such gRPC failures as "Error: <status>"
// and exits 1; Exec returns exit code 1 with an error wrapping this.
var ErrExecFailed = errors.New("guest agent could not run the command")

// ErrAgentLost: the agent connection ended before the command's exit was
// reported (agent killed, VM stopped).
var ErrAgentLost = errors.New("guest agent connection lost")

// signalExitCode is what tart exits with when the guest command was killed
// by a signal (the agent reports -1).
const signalExitCode = 255

// forwardedSignals are relayed from the tart-sim process to the guest command.
var forwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

// Exec is the client side of `tart exec`: it runs argv through the agent on
// socket and relays stdin (when interactive), the terminal size (when tty),
// and signals. It returns the guest command's exit code (255 when a signal
// killed it).
func Exec(ctx context.Context, socket string, argv []string, interactive, tty bool,
	stdin io.Reader, stdout, stderr io.Writer) (exitCode int, err error) {
	if len(argv) == 0 {
		return 1, fmt.Errorf("%w: %w", ErrExecFailed, errEmptyArgv)
	}
	conn, err := dialUnix(socket)
	if err != nil {
		return 1, &AgentUnreachableError{Socket: socket, Err: err}
	}
	defer conn.Close()
	fw := &frameWriter{w: conn}

	req := frame{Type: frameExec, Argv: argv, Interactive: interactive, TTY: tty}
	if tty {
		req.Cols, req.Rows = terminalSize(stdout, stdin)
		if restore := makeRaw(stdin); restore != nil {
			defer restore()
		}
	}
	// Catch signals before the command can start, so none is lost to its
	// default action (which would kill tart-sim instead of the guest command).
	sigs := make(chan os.Signal, 8)
	watched := forwardedSignals
	if tty {
		watched = append(append([]os.Signal(nil), watched...), syscall.SIGWINCH)
	}
	signal.Notify(sigs, watched...)
	defer signal.Stop(sigs)
	if err := fw.send(req); err != nil {
		return 1, &AgentUnreachableError{Socket: socket, Err: err}
	}

	stop := make(chan struct{})
	defer close(stop)
	go relaySignals(fw, sigs, stop, stdout, stdin)
	if interactive {
		go sendStdin(fw, stdin)
	}
	go func() {
		select {
		case <-ctx.Done():
			_ = conn.Close() // the agent kills the command when its caller goes away
		case <-stop:
		}
	}()
	code, err := readOutput(conn, stdout, stderr)
	if ctx.Err() != nil {
		return 1, ctx.Err()
	}
	return code, err
}

// readOutput copies output frames until the exit report.
func readOutput(conn net.Conn, stdout, stderr io.Writer) (int, error) {
	for {
		f, err := readFrame(conn)
		if err != nil {
			return 1, fmt.Errorf("%w: %v", ErrAgentLost, err)
		}
		switch f.Type {
		case frameStdout:
			_, _ = stdout.Write(f.Data)
		case frameStderr:
			_, _ = stderr.Write(f.Data)
		case frameExit:
			if f.Signal != "" {
				return signalExitCode, nil
			}
			return f.Code, nil
		case frameError:
			return 1, fmt.Errorf("%w: %s", ErrExecFailed, f.Message)
		}
	}
}

// sendStdin forwards stdin in chunks, then its EOF. If stdin never ends,
// this goroutine stays blocked in Read: stdin belongs to the caller.
func sendStdin(fw *frameWriter, stdin io.Reader) {
	if stdin != nil {
		buf := make([]byte, chunkSize)
		for {
			n, err := stdin.Read(buf)
			if n > 0 {
				if fw.send(frame{Type: frameStdin, Data: buf[:n]}) != nil {
					return
				}
			}
			if err != nil {
				break
			}
		}
	}
	_ = fw.send(frame{Type: frameStdinEOF})
}

// relaySignals forwards signals to the guest command and, for a terminal,
// window size changes.
func relaySignals(fw *frameWriter, sigs <-chan os.Signal, stop <-chan struct{}, stdout io.Writer, stdin io.Reader) {
	for {
		select {
		case <-stop:
			return
		case s := <-sigs:
			if s == syscall.SIGWINCH {
				cols, rows := terminalSize(stdout, stdin)
				_ = fw.send(frame{Type: frameResize, Cols: cols, Rows: rows})
				continue
			}
			if ss, ok := s.(syscall.Signal); ok {
				_ = fw.send(frame{Type: frameSignal, Signal: signalName(ss)})
			}
		}
	}
}

// defaultCols/Rows are used when neither stdout nor stdin is a terminal
// (real tart would crash there; a simulator should not).
const defaultCols, defaultRows = 80, 24

// terminalSize reads the host terminal size from stdout, else stdin.
func terminalSize(stdout io.Writer, stdin io.Reader) (cols, rows uint16) {
	for _, v := range []any{stdout, stdin} {
		if f, ok := v.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			if w, h, err := term.GetSize(int(f.Fd())); err == nil {
				return uint16(w), uint16(h)
			}
		}
	}
	return defaultCols, defaultRows
}

// makeRaw switches a terminal stdin to raw mode so keys reach the guest
// unprocessed; it returns the restore function, or nil.
func makeRaw(stdin io.Reader) func() {
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	st, err := term.MakeRaw(int(f.Fd()))
	if err != nil {
		return nil
	}
	return func() { _ = term.Restore(int(f.Fd()), st) }
}

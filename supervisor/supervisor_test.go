package supervisor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/guest"
	"golang.org/x/sys/unix"
)

// fakeTransport plays a guest command: it writes to the streams, then
// either exits with code or waits for a signal.
type fakeTransport struct {
	code      int
	waitForSg bool
	gotCmd    chan guest.Command
}

func (f *fakeTransport) Run(ctx context.Context, cmd guest.Command) (guest.Result, error) {
	if f.gotCmd != nil {
		f.gotCmd <- cmd
	}
	io.WriteString(cmd.Stdout, "to stdout\n")
	io.WriteString(cmd.Stderr, "to stderr\n")
	if !f.waitForSg {
		return guest.Result{ExitCode: f.code}, nil
	}
	select {
	case s := <-cmd.Signals:
		if s == syscall.SIGTERM {
			return guest.Result{ExitCode: 143, Signal: "TERM"}, nil
		}
		return guest.Result{ExitCode: 1}, nil
	case <-time.After(10 * time.Second):
		return guest.Result{}, errors.New("no signal")
	}
}
func (f *fakeTransport) CopyFile(context.Context, io.Reader, string, os.FileMode) error { return nil }
func (f *fakeTransport) Close() error                                                   { return nil }

// fifoReader is logmon's side of a log FIFO.
func fifoReader(t *testing.T, path string) <-chan string {
	t.Helper()
	must.NoError(t, unix.Mkfifo(path, 0o600))
	out := make(chan string, 1)
	go func() {
		f, err := os.OpenFile(path, os.O_RDONLY, 0)
		if err != nil {
			out <- "open: " + err.Error()
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		out <- string(b)
	}()
	return out
}

// startSupervisor runs the supervisor in-process and waits for "ok".
func startSupervisor(t *testing.T, spec Spec, tr guest.Transport) (<-chan int, string) {
	t.Helper()
	b, err := json.Marshal(spec)
	must.NoError(t, err)
	r, w, err := os.Pipe()
	must.NoError(t, err)
	codes := make(chan int, 1)
	go func() {
		codes <- run(strings.NewReader(string(b)), w, func(context.Context, *Spec) (guest.Transport, error) { return tr, nil })
	}()
	line, err := bufio.NewReader(r).ReadString('\n')
	must.NoError(t, err)
	r.Close()
	return codes, strings.TrimSpace(line)
}

func newSpec(t *testing.T) (Spec, <-chan string, <-chan string) {
	dir := t.TempDir()
	spec := Spec{StateDir: dir, StdoutPath: filepath.Join(dir, "out.fifo"), StderrPath: filepath.Join(dir, "err.fifo"),
		Argv: []string{"x"}, Env: map[string]string{"K": "v"}, ConnectWait: time.Second}
	return spec, fifoReader(t, spec.StdoutPath), fifoReader(t, spec.StderrPath)
}

func TestSupervisor_RecordsExitAndKeepsStreamsApart(t *testing.T) {
	spec, stdout, stderr := newSpec(t)
	got := make(chan guest.Command, 1)
	codes, hello := startSupervisor(t, spec, &fakeTransport{code: 3, gotCmd: got})
	must.Eq(t, "ok", hello)
	cmd := <-got
	must.Eq(t, []string{"x"}, cmd.Argv)
	must.Eq(t, map[string]string{"K": "v"}, cmd.Env)
	must.Eq(t, 0, <-codes)
	must.Eq(t, "to stdout\n", <-stdout)
	must.Eq(t, "to stderr\n", <-stderr)
	e, err := ReadExit(spec.StateDir)
	must.NoError(t, err)
	must.Eq(t, 3, e.ExitCode)
	must.False(t, Alive(spec.StateDir))
}

func TestSupervisor_ForwardsSignalsWhileAlive(t *testing.T) {
	spec, stdout, stderr := newSpec(t)
	codes, _ := startSupervisor(t, spec, &fakeTransport{waitForSg: true})
	must.True(t, Alive(spec.StateDir))
	must.Error(t, Signal(spec.StateDir, "SIG BAD"))
	must.NoError(t, Signal(spec.StateDir, "SIGTERM"))
	must.Eq(t, 0, <-codes)
	<-stdout
	<-stderr
	e, err := ReadExit(spec.StateDir)
	must.NoError(t, err)
	must.Eq(t, "TERM", e.Signal)
	must.ErrorIs(t, Signal(spec.StateDir, "SIGTERM"), ErrNotRunning)
}

func TestSupervisor_SecondSupervisorOfSameStateDirRefused(t *testing.T) {
	spec, stdout, stderr := newSpec(t)
	codes, _ := startSupervisor(t, spec, &fakeTransport{waitForSg: true})
	b, _ := json.Marshal(spec)
	_, w, _ := os.Pipe()
	must.Eq(t, 2, run(strings.NewReader(string(b)), w, nil))
	must.NoError(t, Signal(spec.StateDir, "TERM"))
	must.Eq(t, 0, <-codes)
	<-stdout
	<-stderr
}

func TestSupervisor_ConnectFailureIsRecorded(t *testing.T) {
	spec, stdout, stderr := newSpec(t)
	b, _ := json.Marshal(spec)
	_, w, _ := os.Pipe()
	code := run(strings.NewReader(string(b)), w, func(context.Context, *Spec) (guest.Transport, error) {
		return nil, guest.ErrAuth
	})
	must.Eq(t, 0, code)
	<-stdout
	must.StrContains(t, <-stderr, "cannot reach the guest")
	e, err := ReadExit(spec.StateDir)
	must.NoError(t, err)
	must.StrContains(t, e.Err, "authentication")
}

func TestSupervisor_BadSpec(t *testing.T) {
	_, w, _ := os.Pipe()
	must.Eq(t, 2, run(strings.NewReader("not json"), w, nil))
	_, err := ReadExit(t.TempDir())
	must.ErrorIs(t, err, ErrNoExit)
}

// TestFIFOWriter_ReopensWhenLogmonRestarts: a write after the reader went
// away (EPIPE) reopens the FIFO and delivers to the new reader.
func TestFIFOWriter_ReopensWhenLogmonRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	first := fifoReader(t, path)
	w, err := newFIFOWriter(context.Background(), path, 5*time.Second)
	must.NoError(t, err)
	defer w.Close()
	_, err = w.Write([]byte("one\n"))
	must.NoError(t, err)
	// Close the writer side's view of reader one by letting it finish.
	w.mu.Lock()
	w.f.Close()
	w.f, _ = os.OpenFile(os.DevNull, os.O_WRONLY, 0) // stand-in, replaced below
	w.mu.Unlock()
	must.Eq(t, "one\n", <-first)

	// Reader one is gone; a fresh FIFO reader (logmon restarted) appears.
	must.NoError(t, os.Remove(path))
	second := fifoReader(t, path)
	w.mu.Lock()
	w.f.Close()
	r, wr, _ := os.Pipe()
	r.Close() // a pipe without reader: the next write fails with EPIPE
	w.f = wr
	w.mu.Unlock()
	_, err = w.Write([]byte("two\n"))
	must.NoError(t, err)
	w.Close()
	must.Eq(t, "two\n", <-second)
}

func TestOpenWriter_GivesUpWithoutReader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	must.NoError(t, unix.Mkfifo(path, 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := openWriter(ctx, path)
	must.ErrorIs(t, err, context.DeadlineExceeded)
}

package supervisor

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

// startLocal runs a local-mode supervisor in-process and waits for "ok".
func startLocal(t *testing.T, spec Spec, sig Signaler) <-chan int {
	t.Helper()
	b, err := json.Marshal(spec)
	must.NoError(t, err)
	r, w, err := os.Pipe()
	must.NoError(t, err)
	codes := make(chan int, 1)
	go func() { codes <- runWith(strings.NewReader(string(b)), w, Config{Signal: sig}) }()
	line, err := bufio.NewReader(r).ReadString('\n')
	must.NoError(t, err)
	r.Close()
	must.Eq(t, "ok\n", line)
	return codes
}

func localSpec(t *testing.T, script string) (Spec, <-chan string, <-chan string) {
	spec, stdout, stderr := newSpec(t)
	spec.Local = &Local{Argv: []string{"/bin/sh", "-c", script}, Env: []string{"PATH=/usr/bin:/bin"}}
	return spec, stdout, stderr
}

func waitCode(t *testing.T, codes <-chan int) int {
	t.Helper()
	select {
	case c := <-codes:
		return c
	case <-time.After(30 * time.Second):
		t.Fatal("supervisor did not end")
		return -1
	}
}

// TestLocal_ExitCodeAndStreamsApart: the command's own exit status, stdout
// and stderr in their FIFOs, the end of stderr kept for the driver.
func TestLocal_ExitCodeAndStreamsApart(t *testing.T) {
	spec, stdout, stderr := localSpec(t, `echo out; echo "Error: boom" >&2; exit 3`)
	codes := startLocal(t, spec, nil)
	must.Eq(t, 0, waitCode(t, codes))
	must.Eq(t, "out\n", <-stdout)
	must.Eq(t, "Error: boom\n", <-stderr)
	e, err := ReadExit(spec.StateDir)
	must.NoError(t, err)
	must.Eq(t, 3, e.ExitCode)
	must.Eq(t, "", e.Err)
	must.Eq(t, "Error: boom\n", e.StderrTail)
	must.False(t, Alive(spec.StateDir))
}

// TestLocal_SignalsGoThroughTheSignaler: a signal written to the FIFO is
// handed to the callback (the container driver's `container kill -s`),
// which here signals the workload whose PID the target file holds.
func TestLocal_SignalsGoThroughTheSignaler(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "workload.pid")
	spec, stdout, stderr := localSpec(t, `trap 'echo got-usr1' USR1; trap 'echo bye; exit 7' TERM
echo $$ > `+pidFile+`; while :; do sleep 0.05; done`)
	spec.Local.Target = pidFile
	got := make(chan string, 4)
	codes := startLocal(t, spec, func(_ context.Context, l *Local, sig string) error {
		got <- sig
		b, err := os.ReadFile(l.Target)
		if err != nil {
			return err
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return syscall.Kill(pid, map[string]syscall.Signal{"USR1": syscall.SIGUSR1, "TERM": syscall.SIGTERM}[sig])
	})
	deadline := time.Now().Add(10 * time.Second)
	for _, err := os.Stat(pidFile); err != nil; _, err = os.Stat(pidFile) {
		must.True(t, time.Now().Before(deadline), must.Sprint("workload never wrote its pid"))
		time.Sleep(10 * time.Millisecond)
	}
	must.NoError(t, Signal(spec.StateDir, "SIGUSR1"))
	must.Eq(t, "USR1", <-got)
	must.NoError(t, Signal(spec.StateDir, "TERM"))
	must.Eq(t, "TERM", <-got)
	must.Eq(t, 0, waitCode(t, codes))
	must.Eq(t, "got-usr1\nbye\n", <-stdout)
	<-stderr
	e, err := ReadExit(spec.StateDir)
	must.NoError(t, err)
	must.Eq(t, 7, e.ExitCode)
}

// TestLocal_WithoutSignalerTheProcessGetsIt: no callback, the command
// itself is signalled.
func TestLocal_WithoutSignalerTheProcessGetsIt(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "trap-set")
	spec, stdout, stderr := localSpec(t, `trap 'exit 5' INT; echo up; : > `+mark+`; while :; do sleep 0.05; done`)
	codes := startLocal(t, spec, nil)
	// An INT that arrives before the trap is set kills the shell: signal
	// only once the script says the trap is in place.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(mark); err == nil {
			break
		}
		must.True(t, time.Now().Before(deadline), must.Sprint("the script never set its trap"))
		time.Sleep(10 * time.Millisecond)
	}
	must.NoError(t, Signal(spec.StateDir, "INT"))
	for {
		if e, err := ReadExit(spec.StateDir); err == nil {
			must.Eq(t, 5, e.ExitCode)
			break
		}
		must.True(t, time.Now().Before(deadline), must.Sprint("no exit after INT"))
		time.Sleep(20 * time.Millisecond)
	}
	must.Eq(t, 0, waitCode(t, codes))
	must.Eq(t, "up\n", <-stdout)
	<-stderr
}

// TestLocal_KilledCommandIsAnUnknownOutcome: a CLI killed by a signal did
// not report the workload's status; that is not an exit code.
func TestLocal_KilledCommandIsAnUnknownOutcome(t *testing.T) {
	spec, stdout, stderr := localSpec(t, `kill -9 $$`)
	codes := startLocal(t, spec, nil)
	must.Eq(t, 0, waitCode(t, codes))
	<-stdout
	<-stderr
	e, err := ReadExit(spec.StateDir)
	must.NoError(t, err)
	must.Eq(t, -1, e.ExitCode)
	must.Eq(t, "KILL", e.Signal)
	must.StrContains(t, e.Err, "exit status was known")
}

// TestLocal_NoLogPathsDropsOutput: with log collection disabled no FIFO is
// opened and the exit status is still recorded.
func TestLocal_NoLogPathsDropsOutput(t *testing.T) {
	dir := t.TempDir()
	spec := Spec{StateDir: dir, Local: &Local{Argv: []string{"/bin/sh", "-c", "echo lost; exit 4"}}}
	codes := startLocal(t, spec, nil)
	must.Eq(t, 0, waitCode(t, codes))
	e, err := ReadExit(dir)
	must.NoError(t, err)
	must.Eq(t, 4, e.ExitCode)
	entries, _ := os.ReadDir(dir)
	for _, en := range entries {
		must.False(t, en.Type()&os.ModeNamedPipe != 0 && en.Name() != signalsFIFO, must.Sprintf("unexpected FIFO %s", en.Name()))
	}
}

// TestLocal_CommandThatCannotStart is the driver's error, not task output.
func TestLocal_CommandThatCannotStart(t *testing.T) {
	spec, stdout, stderr := newSpec(t)
	spec.Local = &Local{Argv: []string{filepath.Join(t.TempDir(), "no-such-cli")}}
	codes := startLocal(t, spec, nil)
	must.Eq(t, 0, waitCode(t, codes))
	must.Eq(t, "", <-stdout)
	must.Eq(t, "", <-stderr)
	e, err := ReadExit(spec.StateDir)
	must.NoError(t, err)
	must.Eq(t, -1, e.ExitCode)
	must.StrContains(t, e.Err, "no-such-cli")
}

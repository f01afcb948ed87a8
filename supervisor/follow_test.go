package supervisor

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoenig/test/must"
	"golang.org/x/sys/unix"
)

// streamReader is logmon reading a FIFO continuously.
type streamReader struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
}

func newStreamReader(t *testing.T, path string) *streamReader {
	t.Helper()
	must.NoError(t, unix.Mkfifo(path, 0o600))
	r := &streamReader{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		f, err := os.OpenFile(path, os.O_RDONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		b := make([]byte, 4096)
		for {
			n, err := f.Read(b)
			r.mu.Lock()
			r.buf.Write(b[:n])
			r.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return r
}

func (r *streamReader) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	must.NoError(t, err)
	_, err = f.WriteString(s)
	must.NoError(t, err)
	must.NoError(t, f.Close())
}

// fakeRun stands in for the VM's `tart run`: alive until ended.
func fakeRun(t *testing.T) *atomic.Bool {
	var alive atomic.Bool
	alive.Store(true)
	old := runAlive
	runAlive = func(int) bool { return alive.Load() }
	t.Cleanup(func() { runAlive = old })
	return &alive
}

// TestFollow_CopiesNewLinesOfBothFilesUntilTheVMEnds: only output after the
// offsets, whole lines, CR LF made LF, the last partial line at the end;
// then exit.json.
func TestFollow_CopiesNewLinesOfBothFilesUntilTheVMEnds(t *testing.T) {
	alive := fakeRun(t)
	setPartialFlush(t, time.Hour) // a slow test must not see a split line flushed early
	dir := t.TempDir()
	runLog, console := filepath.Join(dir, "tart-run.log"), filepath.Join(dir, "console.log")
	appendTo(t, runLog, "line of an earlier run\n")
	must.NoError(t, os.WriteFile(console, nil, 0o600))
	spec := Spec{StateDir: dir, StdoutPath: filepath.Join(dir, "stdout.fifo"), Follow: &Follow{RunPID: 1,
		Files: []FollowFile{{Path: runLog, Offset: int64(len("line of an earlier run\n"))}, {Path: console}}}}
	out := newStreamReader(t, spec.StdoutPath)
	codes, hello := startSupervisor(t, spec, nil)
	must.Eq(t, "ok", hello)

	appendTo(t, console, "[    0.000000] Linux version 6.8.0\r\n[    0.1")
	waitFor(t, "first console line", func() bool { return out.String() == "[    0.000000] Linux version 6.8.0\n" })
	appendTo(t, console, "00000] systemd[1]: Reached target Multi-User System.\r\n")
	waitFor(t, "the joined line", func() bool { return strings.HasSuffix(out.String(), "Multi-User System.\n") })
	must.Eq(t, "[    0.000000] Linux version 6.8.0\n[    0.100000] systemd[1]: Reached target Multi-User System.\n", out.String())

	appendTo(t, runLog, "guest has stopped the virtual machine\n")
	appendTo(t, console, "[    9.000000] reboot: Power down")
	alive.Store(false)
	must.Eq(t, 0, <-codes)
	<-out.done
	must.Eq(t, "[    0.000000] Linux version 6.8.0\n[    0.100000] systemd[1]: Reached target Multi-User System.\n"+
		"guest has stopped the virtual machine\n[    9.000000] reboot: Power down\n", out.String())
	e, err := ReadExit(dir)
	must.NoError(t, err)
	must.Eq(t, 0, e.ExitCode)
	must.Eq(t, "", e.Err)
	must.False(t, Alive(dir))
}

// TestFollow_PromptShownWhileTheVMRuns: a login prompt has no newline; it
// is shown once it stopped growing, not only at the VM's end.
func TestFollow_PromptShownWhileTheVMRuns(t *testing.T) {
	alive := fakeRun(t)
	setPartialFlush(t, 100*time.Millisecond)
	dir := t.TempDir()
	console := filepath.Join(dir, "console.log")
	must.NoError(t, os.WriteFile(console, []byte("Ubuntu 24.04.1 LTS vm hvc0\n\nvm login: "), 0o600))
	spec := Spec{StateDir: dir, StdoutPath: filepath.Join(dir, "stdout.fifo"), Follow: &Follow{RunPID: 1,
		Files: []FollowFile{{Path: console}}}}
	out := newStreamReader(t, spec.StdoutPath)
	codes, _ := startSupervisor(t, spec, nil)
	waitFor(t, "the prompt", func() bool { return out.String() == "Ubuntu 24.04.1 LTS vm hvc0\n\nvm login: \n" })
	alive.Store(false)
	must.Eq(t, 0, <-codes)
	<-out.done
	must.Eq(t, "Ubuntu 24.04.1 LTS vm hvc0\n\nvm login: \n", out.String())
}

func setPartialFlush(t *testing.T, d time.Duration) {
	old := partialFlushAfter
	partialFlushAfter = d
	t.Cleanup(func() { partialFlushAfter = old })
}

// TestFollow_MissingFileIsSkipped: a file that never appears costs nothing
// but a line in the supervisor log; the other one is still followed.
func TestFollow_MissingFileIsSkipped(t *testing.T) {
	alive := fakeRun(t)
	dir := t.TempDir()
	runLog := filepath.Join(dir, "tart-run.log")
	must.NoError(t, os.WriteFile(runLog, []byte("Stopping VM...\n"), 0o600))
	spec := Spec{StateDir: dir, StdoutPath: filepath.Join(dir, "stdout.fifo"), Follow: &Follow{RunPID: 1,
		Files: []FollowFile{{Path: filepath.Join(dir, "nope")}, {Path: runLog}}}}
	out := newStreamReader(t, spec.StdoutPath)
	codes, _ := startSupervisor(t, spec, nil)
	alive.Store(false)
	must.Eq(t, 0, <-codes)
	<-out.done
	must.Eq(t, "Stopping VM...\n", out.String())
}

// TestFollow_NoStdoutIsAnError: follow mode without a FIFO records why.
func TestFollow_NoStdoutIsAnError(t *testing.T) {
	fakeRun(t)
	dir := t.TempDir()
	b, _ := json.Marshal(Spec{StateDir: dir, Follow: &Follow{RunPID: 1}})
	_, w, _ := os.Pipe()
	must.Eq(t, 0, run(strings.NewReader(string(b)), w, nil))
	e, err := ReadExit(dir)
	must.NoError(t, err)
	must.StrContains(t, e.Err, "StdoutPath")
}

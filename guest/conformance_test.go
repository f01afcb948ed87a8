package guest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

// transportCase describes the transport under test for the shared suite.
type transportCase struct {
	tr Transport
	// signalNameKnown: a self-inflicted signal death is reported by name.
	// The agent reports it as exit 255 only (tart exec's convention).
	signalNameKnown bool
	// dirs gives a fresh directory as the guest names it and as the host
	// reaches it. nil: one t.TempDir() for both (an in-process guest).
	dirs func(t *testing.T) (guestPath, hostPath string)
}

func (tc transportCase) dir(t *testing.T) (guestPath, hostPath string) {
	if tc.dirs == nil {
		d := t.TempDir()
		return d, d
	}
	return tc.dirs(t)
}

// testTransport runs the behaviour every Transport must have.
func testTransport(t *testing.T, tc transportCase) {
	tr := tc.tr
	t.Run("stdout stderr and exit code", func(t *testing.T) {
		var out, errb bytes.Buffer
		res, err := tr.Run(runCtx(t), Command{Script: "echo out; echo err >&2; exit 7", Stdout: &out, Stderr: &errb})
		must.NoError(t, err)
		must.Eq(t, Result{ExitCode: 7}, res)
		must.Eq(t, "out\n", out.String())
		must.Eq(t, "err\n", errb.String())
	})
	t.Run("argv runs without a shell", func(t *testing.T) {
		var out bytes.Buffer
		res, err := tr.Run(runCtx(t), Command{Argv: []string{"printf", "%s|", "a b", "it's", "$HOME", "`x`"}, Stdout: &out})
		must.NoError(t, err)
		must.Eq(t, 0, res.ExitCode)
		must.Eq(t, "a b|it's|$HOME|`x`|", out.String())
	})
	t.Run("environment working dir and stdin", func(t *testing.T) {
		dir, _ := tc.dir(t)
		var out bytes.Buffer
		res, err := tr.Run(runCtx(t), Command{
			Shell:  "/bin/bash",
			Script: `printf '%s\n' "$SECRET" "$MULTI"; pwd; cat; echo "[$BASH_VERSION]" | grep -c '\[[0-9]'`,
			Env:    map[string]string{"SECRET": `s3'cr"et $HOME`, "MULTI": "a\nb"},
			Dir:    dir,
			Stdin:  strings.NewReader("from stdin\n"),
			Stdout: &out,
		})
		must.NoError(t, err)
		must.Eq(t, 0, res.ExitCode)
		must.Eq(t, "s3'cr\"et $HOME\na\nb\n"+dir+"\nfrom stdin\n1\n", out.String())
	})
	t.Run("bad working dir fails the command", func(t *testing.T) {
		var errb bytes.Buffer
		res, err := tr.Run(runCtx(t), Command{Argv: []string{"true"}, Dir: "/nonexistent/dir", Stderr: &errb})
		must.NoError(t, err)
		must.NonZero(t, res.ExitCode)
		must.StrContains(t, errb.String(), "/nonexistent/dir")
	})
	t.Run("remote signal death", func(t *testing.T) {
		res, err := tr.Run(runCtx(t), Command{Script: "kill -TERM $$; sleep 5"})
		must.NoError(t, err)
		if tc.signalNameKnown {
			must.Eq(t, Result{ExitCode: 143, Signal: "TERM"}, res)
		} else {
			must.Eq(t, Result{ExitCode: 255}, res)
		}
	})
	t.Run("forwarded signal ends the command", func(t *testing.T) {
		sigs := make(chan os.Signal, 1)
		out := &syncBuffer{}
		type runEnd struct {
			res Result
			err error
		}
		ended := make(chan runEnd, 1)
		start := time.Now()
		go func() {
			res, err := tr.Run(runCtx(t), Command{Script: "echo started; sleep 30", Stdout: out, Signals: sigs})
			ended <- runEnd{res, err}
		}()
		waitFor(t, "the command to start", 10*time.Second, func() bool { return strings.Contains(out.String(), "started") })
		sigs <- syscall.SIGTERM
		select {
		case e := <-ended:
			must.NoError(t, e.err)
			must.Eq(t, "TERM", e.res.Signal)
			must.Less(t, 10*time.Second, time.Since(start))
		case <-time.After(15 * time.Second):
			t.Fatal("the forwarded SIGTERM did not end `sleep 30`")
		}
	})
	t.Run("pty size and resize", func(t *testing.T) {
		stdinR, stdinW := io.Pipe()
		defer stdinW.Close()
		resize := make(chan WindowSize, 1)
		out := &syncBuffer{}
		ended := make(chan error, 1)
		go func() {
			_, err := tr.Run(runCtx(t), Command{
				Script: "stty size; while read l; do stty size; done",
				Stdin:  stdinR,
				Stdout: out,
				PTY:    &PTY{Cols: 100, Rows: 30, Resize: resize},
			})
			ended <- err
		}()
		waitFor(t, "the initial size", 10*time.Second, func() bool { return strings.Contains(out.String(), "30 100") })
		resize <- WindowSize{Cols: 120, Rows: 40}
		waitFor(t, "the new size", 10*time.Second, func() bool {
			_, _ = stdinW.Write([]byte("\n"))
			time.Sleep(50 * time.Millisecond) // pacing of the probe lines, not synchronisation
			return strings.Contains(out.String(), "40 120")
		})
		_, _ = stdinW.Write([]byte{4}) // ^D: EOF for the read loop
		select {
		case err := <-ended:
			must.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("the PTY command did not end after ^D")
		}
	})
	t.Run("pty stdin is echoed once, by the guest", func(t *testing.T) {
		// Typed before the command starts: only the guest's terminal may
		// echo it (a host terminal in cooked mode would echo it too).
		var out strings.Builder
		res, err := tr.Run(runCtx(t), Command{
			Argv:   []string{"head", "-n1"},
			Stdin:  strings.NewReader("hello from stdin\n"),
			Stdout: &out,
			PTY:    &PTY{Cols: 80, Rows: 24},
		})
		must.NoError(t, err)
		must.Eq(t, 0, res.ExitCode)
		// The guest terminal's echo, then head's own line.
		must.Eq(t, "hello from stdin\r\nhello from stdin\r\n", out.String())
	})
	t.Run("10 MB of output", func(t *testing.T) {
		var n countingWriter
		res, err := tr.Run(runCtx(t), Command{Argv: []string{"head", "-c", "10485760", "/dev/zero"}, Stdout: &n})
		must.NoError(t, err)
		must.Eq(t, 0, res.ExitCode)
		must.Eq(t, int64(10<<20), n.n)
	})
	t.Run("script larger than a command line", func(t *testing.T) {
		var b strings.Builder
		for b.Len() < 3<<20 {
			b.WriteString("x=1 # padding padding padding padding padding padding padding\n")
		}
		b.WriteString("echo big done")
		var out bytes.Buffer
		res, err := tr.Run(runCtx(t), Command{Script: b.String(), Stdout: &out})
		must.NoError(t, err)
		must.Eq(t, 0, res.ExitCode)
		must.Eq(t, "big done\n", out.String())
	})
	t.Run("private files are removed after the run", func(t *testing.T) {
		var out bytes.Buffer
		_, err := tr.Run(runCtx(t), Command{Script: `echo "$0"`, Env: map[string]string{"A": "b"}, Stdout: &out})
		must.NoError(t, err)
		script := strings.TrimSpace(out.String())
		must.StrContains(t, script, "/tartan-")
		// Looked for from inside the guest: a VM's /tmp is its own.
		var errb bytes.Buffer
		res, err := tr.Run(runCtx(t), Command{Argv: []string{"ls", "-d", filepath.Dir(script)}, Stderr: &errb})
		must.NoError(t, err)
		must.NonZero(t, res.ExitCode, must.Sprintf("%s still exists", filepath.Dir(script)))
		must.StrContains(t, errb.String(), "No such file")
	})
	t.Run("secrets stay out of argv", func(t *testing.T) {
		secret := "tartan-secret-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		out := &syncBuffer{}
		sigs := make(chan os.Signal, 1)
		ended := make(chan error, 1)
		go func() {
			_, err := tr.Run(runCtx(t), Command{Script: `echo "$TOKEN" | wc -c; sleep 30`, Env: map[string]string{"TOKEN": secret}, Stdout: out, Signals: sigs})
			ended <- err
		}()
		waitFor(t, "the command to start", 10*time.Second, func() bool { return strings.TrimSpace(out.String()) != "" })
		must.Eq(t, strconv.Itoa(len(secret)+1), strings.TrimSpace(out.String()))
		must.SliceEmpty(t, processesWithArg(t, secret))
		sigs <- syscall.SIGKILL
		must.NoError(t, <-ended)
	})
	t.Run("copy file with mode", func(t *testing.T) {
		guestDir, hostDir := tc.dir(t)
		path := filepath.Join(hostDir, "copied.bin")
		payload := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
		must.NoError(t, tr.CopyFile(runCtx(t), bytes.NewReader(payload), filepath.Join(guestDir, "copied.bin"), 0o640))
		got, err := os.ReadFile(path)
		must.NoError(t, err)
		must.True(t, bytes.Equal(payload, got), must.Sprint("copied content differs"))
		fi, err := os.Stat(path)
		must.NoError(t, err)
		must.Eq(t, os.FileMode(0o640), fi.Mode().Perm())
	})
	t.Run("copy file into a missing directory", func(t *testing.T) {
		err := tr.CopyFile(runCtx(t), strings.NewReader("x"), "/nonexistent/dir/file", 0o644)
		var ce *CommandError
		must.True(t, errors.As(err, &ce), must.Sprintf("want *CommandError, got %v", err))
		must.NonZero(t, ce.ExitCode)
		must.StrContains(t, ce.Stderr, "/nonexistent/dir/file")
	})
	t.Run("invalid commands", func(t *testing.T) {
		for _, cmd := range []Command{
			{},
			{Argv: []string{"true"}, Script: "true"},
			{Argv: []string{"true"}, Env: map[string]string{"A-B": "x"}},
			{Argv: []string{"true"}, PTY: &PTY{}},
		} {
			_, err := tr.Run(runCtx(t), cmd)
			must.ErrorIs(t, err, ErrInvalidInput)
		}
	})
	t.Run("concurrent commands", func(t *testing.T) {
		const n = 6
		errs := make(chan error, n)
		for i := range n {
			go func() {
				var out bytes.Buffer
				want := "job " + strconv.Itoa(i)
				res, err := tr.Run(runCtx(t), Command{Script: `sleep 0.2; echo "$JOB"`, Env: map[string]string{"JOB": want}, Stdout: &out})
				switch {
				case err != nil:
					errs <- err
				case res.ExitCode != 0 || out.String() != want+"\n":
					errs <- errors.New("job " + strconv.Itoa(i) + ": got " + strconv.Quote(out.String()) + " exit " + strconv.Itoa(res.ExitCode))
				default:
					errs <- nil
				}
			}()
		}
		for range n {
			must.NoError(t, <-errs)
		}
	})
	for name, pty := range map[string]*PTY{"": nil, " (pty)": {Cols: 80, Rows: 24}} {
		t.Run("cancelled context kills the remote command"+name, func(t *testing.T) {
			out := &syncBuffer{}
			ctx, cancel := context.WithCancel(runCtx(t))
			ended := make(chan error, 1)
			go func() {
				_, err := tr.Run(ctx, Command{Script: "echo $$; exec sleep 30", Stdout: out, PTY: pty})
				ended <- err
			}()
			waitFor(t, "the pid", 10*time.Second, func() bool { return strings.HasSuffix(out.String(), "\n") })
			pid, err := strconv.Atoi(strings.TrimSpace(out.String()))
			must.NoError(t, err)
			must.True(t, guestProcessAlive(t, tr, pid), must.Sprint("the probe must see the running sleep"))
			cancel()
			select {
			case err := <-ended:
				must.ErrorIs(t, err, context.Canceled)
			case <-time.After(15 * time.Second):
				t.Fatal("Run did not return after cancellation")
			}
			waitFor(t, "the remote sleep to die", 10*time.Second, func() bool { return !guestProcessAlive(t, tr, pid) })
		})
	}
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// guestProcessAlive asks the guest (a simulated VM has its own PID
// namespace, so $$ there is not a host PID): alive and not a zombie.
func guestProcessAlive(t *testing.T, tr Transport, pid int) bool {
	t.Helper()
	p := strconv.Itoa(pid)
	res, err := tr.Run(runCtx(t), Command{Argv: []string{"/bin/sh", "-c",
		"kill -0 " + p + " 2>/dev/null && ! grep -q ') Z ' /proc/" + p + "/stat 2>/dev/null"}})
	must.NoError(t, err)
	return res.ExitCode == 0
}

// processesWithArg lists host processes whose command line contains s.
func processesWithArg(t *testing.T, s string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	must.NoError(t, err)
	var hits []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(s)) {
			hits = append(hits, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return hits
}

package foundation

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/guest"
	"github.com/tartanhq/tartan/tart"
)

var modes = []guest.Mode{guest.ModeSSH, guest.ModeAgent}

// One macOS VM with a read-only and a read-write share; every transport
// check runs in it over SSH and over `tart exec`.
func TestGuestCommandsOverEachTransport(t *testing.T) {
	w := newWorld(t)
	roDir, rwDir := t.TempDir(), t.TempDir()
	must.NoError(t, os.WriteFile(filepath.Join(roDir, "hello.txt"), []byte("from the host\n"), 0o644))
	w.boot(macImage, "vm-t", tart.RunOptions{NoGraphics: true, Dirs: []tart.Share{
		{Name: "ro", Path: roDir, ReadOnly: true},
		{Name: "rw", Path: rwDir},
	}})
	roGuest := tart.GuestSharePath("darwin", "ro")
	rwGuest := tart.GuestSharePath("darwin", "rw")

	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			tr := w.connect("vm-t", mode)

			t.Run("stdout, stderr and exit 7", func(t *testing.T) {
				var out, errb bytes.Buffer
				res, err := tr.Run(ctxFor(t, callTimeout), guest.Command{
					Script: "echo to-stdout; echo to-stderr >&2; exit 7", Shell: "/bin/sh",
					Stdout: &out, Stderr: &errb,
				})
				must.NoError(t, err, must.Sprint("a non-zero exit is not an error"))
				must.EqOp(t, 7, res.ExitCode)
				must.EqOp(t, "", res.Signal)
				must.EqOp(t, "to-stdout\n", out.String())
				must.EqOp(t, "to-stderr\n", errb.String())
			})

			t.Run("argv without a shell", func(t *testing.T) {
				var out bytes.Buffer
				res, err := tr.Run(ctxFor(t, callTimeout), guest.Command{
					Argv: []string{"printf", "%s|", "two words", "$HOME", "'q'"}, Stdout: &out,
				})
				must.NoError(t, err)
				must.EqOp(t, 0, res.ExitCode)
				must.EqOp(t, "two words|$HOME|'q'|", out.String())
			})

			t.Run("environment", func(t *testing.T) {
				var out bytes.Buffer
				res, err := tr.Run(ctxFor(t, callTimeout), guest.Command{
					Argv:   []string{"printenv", "TARTAN_E2E"},
					Env:    map[string]string{"TARTAN_E2E": "it's a \"value\" with $pecial chars"},
					Stdout: &out,
				})
				must.NoError(t, err)
				must.EqOp(t, 0, res.ExitCode)
				must.EqOp(t, "it's a \"value\" with $pecial chars\n", out.String())
			})

			t.Run("environment never on a command line", func(t *testing.T) {
				secret := fmt.Sprintf("s3cret-%d-%s", time.Now().UnixNano(), mode)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				out := newWatch("ready")
				done := make(chan struct{})
				go func() {
					defer close(done)
					_, _ = tr.Run(ctx, guest.Command{
						Script: "echo ready; exec sleep 60", Env: map[string]string{"TOKEN": secret}, Stdout: out,
					})
				}()
				select {
				case <-out.seen:
				case <-time.After(callTimeout):
					t.Fatal("command never printed ready")
				}
				must.SliceEmpty(t, cmdlinesContaining(secret), must.Sprint("a secret env value is visible in ps"))
				cancel()
				<-done
			})

			t.Run("stdin", func(t *testing.T) {
				var out bytes.Buffer
				res, err := tr.Run(ctxFor(t, callTimeout), guest.Command{
					Argv: []string{"tr", "a-z", "A-Z"}, Stdin: strings.NewReader("shout\n"), Stdout: &out,
				})
				must.NoError(t, err)
				must.EqOp(t, 0, res.ExitCode)
				must.EqOp(t, "SHOUT\n", out.String())
			})

			t.Run("signal", func(t *testing.T) {
				out := newWatch("ready")
				sigs := make(chan os.Signal, 1)
				done := make(chan struct{})
				var res guest.Result
				var err error
				go func() {
					defer close(done)
					res, err = tr.Run(ctxFor(t, callTimeout), guest.Command{
						Script: "echo ready; exec sleep 60", Stdout: out, Signals: sigs,
					})
				}()
				select {
				case <-out.seen:
				case <-done:
					t.Fatalf("command ended before it was signalled: %v", err)
				case <-time.After(callTimeout):
					t.Fatal("command never printed ready")
				}
				sigs <- syscall.SIGTERM
				select {
				case <-done:
				case <-time.After(callTimeout):
					t.Fatal("SIGTERM did not end the guest command")
				}
				must.NoError(t, err)
				must.EqOp(t, "TERM", res.Signal)
				must.EqOp(t, 143, res.ExitCode)
			})

			t.Run("pty size", func(t *testing.T) {
				var out bytes.Buffer
				res, err := tr.Run(ctxFor(t, callTimeout), guest.Command{
					Argv: []string{"stty", "size"}, Stdout: &out,
					PTY: &guest.PTY{Term: "xterm", Cols: 123, Rows: 45},
				})
				must.NoError(t, err)
				must.EqOp(t, 0, res.ExitCode)
				must.EqOp(t, "45 123", strings.TrimSpace(out.String()))
			})

			t.Run("pty resize", func(t *testing.T) {
				out := newWatch("ready")
				resize := make(chan guest.WindowSize, 1)
				done := make(chan struct{})
				var res guest.Result
				var err error
				go func() {
					defer close(done)
					res, err = tr.Run(ctxFor(t, callTimeout), guest.Command{
						Script: "trap 'stty size; exit 0' WINCH; echo ready; while :; do sleep 0.05; done",
						Stdout: out, PTY: &guest.PTY{Cols: 80, Rows: 24, Resize: resize},
					})
				}()
				select {
				case <-out.seen:
				case <-done:
					t.Fatalf("command ended before the resize: %v", err)
				case <-time.After(callTimeout):
					t.Fatal("command never printed ready")
				}
				resize <- guest.WindowSize{Cols: 91, Rows: 33}
				select {
				case <-done:
				case <-time.After(callTimeout):
					t.Fatal("the resize never reached the guest")
				}
				must.NoError(t, err)
				must.EqOp(t, 0, res.ExitCode)
				must.StrContains(t, out.String(), "33 91")
			})

			t.Run("read-only share", func(t *testing.T) {
				var out, errb bytes.Buffer
				res, err := tr.Run(ctxFor(t, callTimeout), guest.Command{
					Argv: []string{"cat", roGuest + "/hello.txt"}, Stdout: &out, Stderr: &errb,
				})
				must.NoError(t, err)
				must.EqOp(t, 0, res.ExitCode, must.Sprint(errb.String()))
				must.EqOp(t, "from the host\n", out.String())

				errb.Reset()
				res, err = tr.Run(ctxFor(t, callTimeout), guest.Command{
					Argv: []string{"touch", roGuest + "/new-" + string(mode)}, Stderr: &errb,
				})
				must.NoError(t, err)
				must.NonZero(t, res.ExitCode, must.Sprint("writing a read-only share must fail"))
				must.StrContains(t, strings.ToLower(errb.String()), "read-only")
				_, statErr := os.Stat(filepath.Join(roDir, "new-"+string(mode)))
				must.ErrorIs(t, statErr, os.ErrNotExist)

				res, err = tr.Run(ctxFor(t, callTimeout), guest.Command{
					Argv: []string{"touch", rwGuest + "/new-" + string(mode)},
				})
				must.NoError(t, err)
				must.EqOp(t, 0, res.ExitCode)
				_, statErr = os.Stat(filepath.Join(rwDir, "new-"+string(mode)))
				must.NoError(t, statErr, must.Sprint("a read-write share reaches the host"))
			})

			t.Run("copy file", func(t *testing.T) {
				dst := rwGuest + "/copied-" + string(mode)
				must.NoError(t, tr.CopyFile(ctxFor(t, callTimeout), strings.NewReader("payload"), dst, 0o640))
				b, err := os.ReadFile(filepath.Join(rwDir, "copied-"+string(mode)))
				must.NoError(t, err)
				must.EqOp(t, "payload", string(b))
			})
		})
	}
}

// watch is a writer that closes seen once its output contains want.
type watch struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	want   string
	seen   chan struct{}
	seenAt time.Time // when want first appeared (read after seen is closed)
	once   sync.Once
}

func newWatch(want string) *watch { return &watch{want: want, seen: make(chan struct{})} }

func (w *watch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func (w *watch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { w.seenAt = time.Now(); close(w.seen) })
	}
	return len(p), nil
}

// cmdlinesContaining lists the command lines of all processes on the host
// that contain s (Linux /proc; nil elsewhere).
func cmdlinesContaining(s string) []string {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(s)) {
			out = append(out, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}

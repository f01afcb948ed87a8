package warm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tartanhq/tartan/guest"
	"github.com/tartanhq/tartan/internal/testenv"
	"github.com/tartanhq/tartan/tart"
	"github.com/tartanhq/tartan/warm"
)

const (
	macImage   = "ghcr.io/cirruslabs/macos-sequoia-base:latest"
	linuxImage = "ghcr.io/cirruslabs/ubuntu:latest"
)

// world is one TART_HOME on tart-sim with a warm Manager.
type world struct {
	t    testing.TB
	home string
	dir  string
	c    *tart.Client
	m    *warm.Manager
	logs *logSink
}

type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logSink) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.Contains(s, substr) {
			n++
		}
	}
	return n
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// simClient is a tart client on tart-sim for home with extra env knobs.
func simClient(t testing.TB, home string, env ...string) *tart.Client {
	t.Helper()
	simBin = testenv.TartSim(t)
	env = append([]string{"TART_SIM_IP_DELAY=0", "TART_SIM_SSH_DELAY=0", "TART_SIM_RESUME_DELAY=0"}, env...)
	c, err := tart.New(tart.Options{Binary: simBin, Home: home, NoAutoPrune: true, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func connectFor(c *tart.Client) warm.ConnectFunc {
	return func(ctx context.Context, vm string, _ *tart.RunHandle) (guest.Transport, error) {
		wait := 60 * time.Second
		if dl, ok := ctx.Deadline(); ok {
			wait = time.Until(dl)
		}
		return guest.Connect(ctx, guest.Config{Tart: c, VM: vm, BootWait: wait, MaxRetryInterval: 50 * time.Millisecond,
			SSH: guest.SSHConfig{User: "admin", Password: "admin"}})
	}
}

func newWorld(t testing.TB, o warm.Options, env ...string) *world {
	t.Helper()
	w := &world{t: t, home: t.TempDir(), dir: t.TempDir(), logs: &logSink{}}
	w.c = simClient(t, w.home, env...) // builds tart-sim under the real TMPDIR
	t.Setenv("TMPDIR", t.TempDir())    // run logs stay inside the test
	w.m = w.manager(w.c, o)
	t.Cleanup(w.stopAll)
	ctx := ctxT(t, 60*time.Second)
	if err := w.c.Pull(ctx, macImage, tart.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	return w
}

// manager makes another Manager on the same Dir (e.g. with a client whose
// tart runs get fault knobs).
func (w *world) manager(c *tart.Client, o warm.Options) *warm.Manager {
	w.t.Helper()
	o.Tart, o.Dir, o.Logf = c, w.dir, w.logs.logf
	if o.Connect == nil {
		o.Connect = connectFor(c)
	}
	if o.ClockCommand == nil {
		// Record the host time the guest was given, in the guest's home.
		o.ClockCommand = func(now time.Time) guest.Command {
			return guest.Command{Shell: "/bin/sh", Script: fmt.Sprintf("echo %d > \"$HOME/clock-set\"\n", now.Unix())}
		}
	}
	m, err := warm.New(o)
	if err != nil {
		w.t.Fatal(err)
	}
	return m
}

func (w *world) stopAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	vms, _ := w.c.List(ctx, tart.ListOptions{Source: "local"})
	for _, v := range vms {
		if v.State == tart.StateRunning {
			_ = w.c.Stop(ctx, v.Name, 3*time.Second)
		}
	}
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func (w *world) spec() warm.Spec { return warm.Spec{Image: macImage} }

func (w *world) build(spec warm.Spec, slot string) warm.Snapshot {
	w.t.Helper()
	s, err := w.m.Build(ctxT(w.t, 2*time.Minute), spec, slot, warm.BuildOptions{})
	if err != nil {
		w.t.Fatalf("build slot %s: %v\nlog:\n%s", slot, err, w.logs)
	}
	return s
}

// start starts a job VM through Manager.Start with a plain cold path.
func (w *world) start(m *warm.Manager, spec warm.Spec, slot, vm string) (*warm.Started, error) {
	w.t.Helper()
	return w.startWith(m, spec, slot, vm, false)
}

func (w *world) startWith(m *warm.Manager, spec warm.Spec, slot, vm string, noWarm bool) (*warm.Started, error) {
	w.t.Helper()
	req := warm.StartRequest{Spec: spec, Slot: slot, VM: vm, NoWarm: noWarm,
		Run: tart.RunOptions{NoGraphics: true, StartSettle: -1, Dirs: spec.Shares},
		Cold: func(ctx context.Context) error {
			if err := w.c.Clone(ctx, spec.Image, vm, tart.CloneOptions{}); err != nil {
				return err
			}
			return w.c.Set(ctx, vm, tart.SetOptions{RandomMAC: true})
		}}
	st, err := m.Start(ctxT(w.t, 2*time.Minute), req)
	if st != nil && st.Transport != nil {
		w.t.Cleanup(func() { st.Transport.Close() })
	}
	return st, err
}

// runGuest runs a command in a started VM and returns its stdout.
func runGuest(t testing.TB, tr guest.Transport, script string) string {
	t.Helper()
	var out bytes.Buffer
	res, err := tr.Run(ctxT(t, 30*time.Second), guest.Command{Shell: "/bin/sh", Script: script, Stdout: &out, Stderr: &out})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("guest %q: %v exit %d: %s", script, err, res.ExitCode, out.String())
	}
	return out.String()
}

func (w *world) names() []string {
	w.t.Helper()
	vms, err := w.c.List(ctxT(w.t, 30*time.Second), tart.ListOptions{Source: "local"})
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, v := range vms {
		out = append(out, v.Name+"="+string(v.State))
	}
	return out
}

func (w *world) runLog(h *tart.RunHandle) string {
	b, _ := os.ReadFile(h.LogPath)
	return string(b)
}

func (w *world) ip(vm string) string {
	w.t.Helper()
	ip, err := w.c.IP(ctxT(w.t, 30*time.Second), vm, tart.IPOptions{Wait: 10 * time.Second})
	if err != nil {
		w.t.Fatal(err)
	}
	return ip
}

func (w *world) macOf(vm string) string {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(w.home, "vms", vm, "config.json"))
	if err != nil {
		w.t.Fatal(err)
	}
	i := bytes.Index(b, []byte(`"macAddress" : "`))
	if i < 0 {
		w.t.Fatalf("no MAC in %s", b)
	}
	return string(b[i+16 : i+16+17])
}

func isNoSnapshot(err error) bool { return errors.Is(err, warm.ErrNoSnapshot) }

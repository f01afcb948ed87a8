package foundation

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/guest"
	"github.com/tartanhq/tartan/internal/testenv"
	"github.com/tartanhq/tartan/tart"
)

// Images of the simulator's built-in catalog.
const (
	macImage   = "ghcr.io/cirruslabs/macos-sequoia-base:latest"
	linuxImage = "ghcr.io/cirruslabs/ubuntu:latest"
)

// Bounds for every wait in these tests: generous for a loaded 2-core CI
// machine, yet a hang still fails in well under the package timeout.
const (
	callTimeout = 60 * time.Second
	bootWait    = 30 * time.Second
)

// world is one isolated simulated host: its own TART_HOME, its own SSH port
// (so parallel test processes of other packages never collide), and every
// VM it started, stopped and checked for leaks at cleanup.
type world struct {
	tb      testing.TB
	home    string
	sshPort int
	// guestTmp holds the transports' per-command guest files; cleanup checks
	// it is empty. It lives in /var/tmp: the simulated guest has its own
	// /tmp (like a VM) but shares the rest of the host's file system.
	guestTmp string
	// guestLeftoversOK: the test kills transports mid-command, so their
	// per-command files may legitimately stay behind.
	guestLeftoversOK bool
	client           *tart.Client

	mu   sync.Mutex
	runs []*tart.RunHandle
}

// newWorld builds a world; knobs are extra TART_SIM_* settings.
func newWorld(tb testing.TB, knobs ...string) *world {
	tb.Helper()
	bin := testenv.TartSim(tb)
	home := tb.TempDir()
	port := freePort(tb)
	env := append([]string{
		"TART_SIM_SSH_PORT=" + strconv.Itoa(port),
		"TART_SIM_IP_DELAY=0s",
		"TART_SIM_SSH_DELAY=0s",
	}, knobs...)
	c, err := tart.New(tart.Options{Binary: bin, Home: home, NoAutoPrune: true, Env: env})
	must.NoError(tb, err)
	guestTmp, err := os.MkdirTemp("/var/tmp", "tartan-e2e-guest-")
	must.NoError(tb, err)
	tb.Cleanup(func() { _ = os.RemoveAll(guestTmp) })
	w := &world{tb: tb, home: home, sshPort: port, client: c, guestTmp: guestTmp}
	tb.Cleanup(w.cleanup)
	return w
}

// freePort returns a TCP port that was free on loopback a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must.NoError(tb, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func ctxFor(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

// clone makes a local VM from a catalog image.
func (w *world) clone(image, name string) {
	w.tb.Helper()
	must.NoError(w.tb, w.client.Clone(ctxFor(w.tb, callTimeout), image, name, tart.CloneOptions{}))
}

// run starts a VM and remembers it for cleanup.
func (w *world) run(name string, o tart.RunOptions) (*tart.RunHandle, error) {
	w.tb.Helper()
	if o.LogPath == "" {
		o.LogPath = filepath.Join(w.home, name+".run.log")
	}
	h, err := w.client.Run(ctxFor(w.tb, callTimeout), name, o)
	if h != nil {
		w.mu.Lock()
		w.runs = append(w.runs, h)
		w.mu.Unlock()
	}
	return h, err
}

func (w *world) mustRun(name string, o tart.RunOptions) *tart.RunHandle {
	w.tb.Helper()
	h, err := w.run(name, o)
	must.NoError(w.tb, err)
	return h
}

// boot clones and runs a VM of image.
func (w *world) boot(image, name string, o tart.RunOptions) *tart.RunHandle {
	w.tb.Helper()
	w.clone(image, name)
	return w.mustRun(name, o)
}

// sshConfig is how the simulated guest's sshd is reached (images use
// admin/admin, like Cirrus Labs' images).
func (w *world) sshConfig() guest.SSHConfig {
	return guest.SSHConfig{User: "admin", Password: "admin", DialTimeout: 10 * time.Second, GuestTempDir: w.guestTmp}
}

// guestConfig is how Connect reaches vm in this world.
func (w *world) guestConfig(vm string, mode guest.Mode) guest.Config {
	return guest.Config{Mode: mode, Tart: w.client, VM: vm, SSH: w.sshConfig(), SSHPort: w.sshPort,
		BootWait: bootWait, GuestTempDir: w.guestTmp}
}

// connect opens a transport of the given mode to a running VM.
func (w *world) connect(vm string, mode guest.Mode) guest.Transport {
	w.tb.Helper()
	tr, err := guest.Connect(ctxFor(w.tb, callTimeout), w.guestConfig(vm, mode))
	must.NoError(w.tb, err)
	w.tb.Cleanup(func() { _ = tr.Close() })
	return tr
}

// cleanup stops every VM, then proves that no process of this world is
// left: no tart run, no simulated guest, no guest command.
func (w *world) cleanup() {
	w.mu.Lock()
	runs := w.runs
	w.mu.Unlock()
	for _, h := range runs {
		if !h.Alive() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := w.client.Stop(ctx, h.Name, 5*time.Second); err != nil && !errors.Is(err, tart.ErrNotRunning) {
			w.tb.Logf("cleanup: stop %s: %v", h.Name, err)
		}
		cancel()
		if !awaitExit(h, 15*time.Second) {
			w.tb.Errorf("cleanup: tart run of %s (pid %d) still alive 15 s after tart stop; killed it", h.Name, h.PID)
		}
	}
	if ents, _ := os.ReadDir(w.guestTmp); len(ents) > 0 && !w.guestLeftoversOK {
		w.tb.Errorf("guest commands left %d per-command directories behind in %s", len(ents), w.guestTmp)
	}
	if left := waitNoProcesses(w.home, 10*time.Second); len(left) > 0 {
		w.tb.Errorf("processes of this test's TART_HOME outlived it: %s", strings.Join(left, "; "))
		killAll(left)
	}
}

// homeProcesses lists "pid cmdline" of processes whose command line or
// environment mentions home (tart-sim VMs and guest commands inherit
// TART_HOME). Linux /proc only; other systems report nothing.
func homeProcesses(home string) []string {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []string
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		envb, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		cmdb, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if strings.Contains(string(envb), "TART_HOME="+home+"\x00") || strings.Contains(string(cmdb), home) {
			if isZombie(pid) {
				continue
			}
			out = append(out, fmt.Sprintf("%d %s", pid, strings.ReplaceAll(strings.TrimRight(string(cmdb), "\x00"), "\x00", " ")))
		}
	}
	return out
}

func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // gone
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z'
}

// waitNoProcesses polls until no process of home is left or d passes.
func waitNoProcesses(home string, d time.Duration) []string {
	deadline := time.Now().Add(d)
	for {
		left := homeProcesses(home)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(20 * time.Millisecond) // polling a process table: nothing to wait on
	}
}

func killAll(procs []string) {
	for _, p := range procs {
		pid, err := strconv.Atoi(strings.Fields(p)[0])
		if err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// eventually polls cond every 20 ms until it holds or d passes.
func eventually(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// vmState asks tart for a VM's state ("" if it cannot say).
func (w *world) vmState(name string) tart.State {
	info, err := w.client.Get(ctxFor(w.tb, callTimeout), name)
	if err != nil {
		return ""
	}
	return info.State
}

// awaitExit waits (bounded) for tart run to end, SIGKILLing its process
// group if it does not; it reports whether it ended by itself.
func awaitExit(h *tart.RunHandle, d time.Duration) bool {
	select {
	case <-h.Done():
		return true
	case <-time.After(d):
		_ = syscall.Kill(-h.PID, syscall.SIGKILL)
		<-h.Done() // SIGKILL cannot be ignored
		return false
	}
}

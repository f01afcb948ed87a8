package tart

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tartanhq/tartan/internal/testenv"
)

const (
	ubuntuImage = "ghcr.io/cirruslabs/ubuntu:latest"
	macosImage  = "ghcr.io/cirruslabs/macos-sequoia-base:latest"
)

var (
	simPathMu sync.Mutex
	simPath   string
)

// sim returns a client on tart-sim with its own TART_HOME. Any VM still
// running at the end of the test is stopped.
func sim(t *testing.T, env ...string) (*Client, string) {
	t.Helper()
	bin := testenv.TartSim(t)
	// Default run logs land in os.TempDir(): keep them inside the test.
	t.Setenv("TMPDIR", t.TempDir())
	simPathMu.Lock()
	simPath = bin
	simPathMu.Unlock()
	home := t.TempDir()
	c, err := New(Options{Binary: bin, Home: home, NoAutoPrune: true, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopAll(t, c) })
	return c, home
}

func stopAll(t *testing.T, c *Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	vms, err := c.List(ctx, ListOptions{Source: "local"})
	if err != nil {
		t.Errorf("cleanup list: %v", err)
		return
	}
	for _, vm := range vms {
		if vm.State == StateRunning {
			if err := c.Stop(ctx, vm.Name, 5*time.Second); err != nil && !errors.Is(err, ErrNotRunning) {
				t.Errorf("cleanup stop %s: %v", vm.Name, err)
			}
		}
	}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func mustClone(t *testing.T, c *Client, src, dst string) {
	t.Helper()
	if err := c.Clone(ctxT(t, time.Minute), src, dst, CloneOptions{}); err != nil {
		t.Fatalf("clone %s %s: %v", src, dst, err)
	}
}

func mustRun(t *testing.T, c *Client, name string, o RunOptions) *RunHandle {
	t.Helper()
	o.NoGraphics = true
	h, err := c.Run(ctxT(t, time.Minute), name, o)
	if err != nil {
		t.Fatalf("run %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Stop(ctx, name, 5*time.Second); err != nil && !errors.Is(err, ErrNotRunning) && !errors.Is(err, ErrVMNotFound) {
			t.Errorf("cleanup stop %s: %v", name, err)
		}
		select {
		case <-h.Done():
		case <-time.After(15 * time.Second):
			t.Errorf("tart run %s (pid %d) still alive at the end of the test", name, h.PID)
			_ = signalGroup(h.PID)
		}
	})
	return h
}

func stateOf(t *testing.T, c *Client, name string) State {
	t.Helper()
	info, err := c.Get(ctxT(t, 10*time.Second), name)
	if err != nil {
		t.Fatalf("get %s: %v", name, err)
	}
	return info.State
}

func listState(t *testing.T, c *Client, name string) State {
	t.Helper()
	vms, err := c.List(ctxT(t, 10*time.Second), ListOptions{})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	for _, vm := range vms {
		if vm.Name == name {
			return vm.State
		}
	}
	t.Fatalf("%s not in list %+v", name, vms)
	return ""
}

func assertKind(t *testing.T, err, kind error) *Error {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("got %v, want %v", err, kind)
	}
	var te *Error
	if !errors.As(err, &te) {
		t.Fatalf("%T is not *tart.Error: %v", err, err)
	}
	return te
}

func TestSimLifecycle(t *testing.T) {
	c, _ := sim(t)
	var progress []string
	if err := c.Pull(ctxT(t, time.Minute), ubuntuImage, PullOptions{Concurrency: 2, Progress: func(l string) { progress = append(progress, l) }}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(progress, "100%") {
		t.Fatalf("no progress lines: %q", progress)
	}
	fqn, err := c.FQN(ctxT(t, 10*time.Second), ubuntuImage)
	if err != nil || !strings.HasPrefix(fqn, "ghcr.io/cirruslabs/ubuntu@sha256:") {
		t.Fatalf("FQN = %q, %v", fqn, err)
	}
	mustClone(t, c, ubuntuImage, "life")
	if err := c.Set(ctxT(t, 10*time.Second), "life", SetOptions{CPU: 6, MemoryMB: 6144, RandomMAC: true, Display: "1280x800"}); err != nil {
		t.Fatal(err)
	}
	info, err := c.Get(ctxT(t, 10*time.Second), "life")
	if err != nil {
		t.Fatal(err)
	}
	if info.OS != "linux" || info.CPU != 6 || info.Memory != 6144 || info.Display != "1280x800" || info.State != StateStopped {
		t.Fatalf("after set: %+v", info)
	}

	h := mustRun(t, c, "life", RunOptions{})
	if h.PID <= 0 || !h.Alive() || h.Name != "life" {
		t.Fatalf("handle %+v", h)
	}
	if s := listState(t, c, "life"); s != StateRunning {
		t.Fatalf("list state %s", s)
	}
	ip, err := c.IP(ctxT(t, 30*time.Second), "life", IPOptions{Wait: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := netip.ParseAddr(ip); err != nil {
		t.Fatalf("IP %q: %v", ip, err)
	}
	_, err = c.Run(ctxT(t, time.Minute), "life", RunOptions{NoGraphics: true})
	if te := assertKind(t, err, ErrAlreadyRunning); te.ExitCode != 2 || te.Stderr != `VM "life" is already running!` {
		t.Fatalf("second run: %+v", te)
	}
	te := assertKind(t, c.Delete(ctxT(t, 10*time.Second), "life"), ErrVMRunning)
	if te.ExitCode != 1 {
		t.Fatalf("delete running: %+v", te)
	}
	if err := c.Stop(ctxT(t, 30*time.Second), "life", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("tart run did not exit after stop")
	}
	if h.ExitCode() != 0 || h.Alive() {
		t.Fatalf("after stop: exit %d alive %v", h.ExitCode(), h.Alive())
	}
	if !strings.Contains(h.LogTail(5), "Stopping VM...") {
		t.Fatalf("log tail %q", h.LogTail(5))
	}
	if s := stateOf(t, c, "life"); s != StateStopped {
		t.Fatalf("state after stop: %s", s)
	}
	assertKind(t, c.Stop(ctxT(t, 10*time.Second), "life", 0), ErrNotRunning)
	if err := c.Delete(ctxT(t, 10*time.Second), "life"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(ctxT(t, 10*time.Second), "life")
	if te := assertKind(t, err, ErrVMNotFound); te.ExitCode != 2 {
		t.Fatalf("get deleted: %+v", te)
	}
	if err := c.Prune(ctxT(t, 10*time.Second), PruneOptions{SpaceBudgetGB: 1000}); err != nil {
		t.Fatal(err)
	}
}

func TestSimUnknownVM(t *testing.T) {
	c, _ := sim(t)
	ctx := ctxT(t, 30*time.Second)
	_, err := c.Get(ctx, "ghost")
	assertKind(t, err, ErrVMNotFound)
	_, err = c.Run(ctx, "ghost", RunOptions{NoGraphics: true})
	if te := assertKind(t, err, ErrVMNotFound); te.ExitCode != 1 || !strings.Contains(te.Stderr, `"ghost" does not exist`) {
		t.Fatalf("run ghost: %+v", te)
	}
	if logs, _ := filepath.Glob(filepath.Join(os.TempDir(), "tart-run-*.log")); len(logs) != 0 {
		t.Fatalf("failed Run left its temp log behind: %v", logs)
	}
	assertKind(t, c.Delete(ctx, "ghost"), ErrVMNotFound)
	assertKind(t, c.Stop(ctx, "ghost", 0), ErrVMNotFound)
	assertKind(t, c.Set(ctx, "ghost", SetOptions{CPU: 2}), ErrVMNotFound)
	_, err = c.Exec(ctx, "ghost", []string{"true"}, ExecOptions{})
	assertKind(t, err, ErrVMNotFound)
}

func TestSimNotRunning(t *testing.T) {
	c, _ := sim(t)
	mustClone(t, c, ubuntuImage, "idle")
	ctx := ctxT(t, 30*time.Second)
	assertKind(t, c.Stop(ctx, "idle", 0), ErrNotRunning)
	assertKind(t, c.Suspend(ctx, "idle"), ErrNotRunning)
	_, err := c.Exec(ctx, "idle", []string{"true"}, ExecOptions{})
	assertKind(t, err, ErrNotRunning)
}

func TestSimVMLimitForThirdMacOSVM(t *testing.T) {
	c, _ := sim(t)
	mustClone(t, c, macosImage, "mac-1")
	mustClone(t, c, "mac-1", "mac-2")
	mustClone(t, c, "mac-1", "mac-3")
	mustRun(t, c, "mac-1", RunOptions{})
	mustRun(t, c, "mac-2", RunOptions{})
	_, err := c.Run(ctxT(t, time.Minute), "mac-3", RunOptions{NoGraphics: true})
	te := assertKind(t, err, ErrVMLimit)
	if !strings.Contains(te.Stderr, "exceeds the system limit") || !strings.Contains(te.Stderr, "mac-1") {
		t.Fatalf("limit error: %+v", te)
	}
	if s := stateOf(t, c, "mac-3"); s != StateStopped {
		t.Fatalf("mac-3 state %s after refused start", s)
	}
}

func TestSimNoIP(t *testing.T) {
	c, _ := sim(t, "TART_SIM_NO_IP=1")
	mustClone(t, c, ubuntuImage, "noip")
	mustRun(t, c, "noip", RunOptions{})
	_, err := c.IP(ctxT(t, 30*time.Second), "noip", IPOptions{Wait: time.Second})
	te := assertKind(t, err, ErrNoIP)
	if !strings.HasPrefix(te.Stderr, "no IP address found") || te.ExitCode != 1 {
		t.Fatalf("%+v", te)
	}

	// A ctx deadline shorter than --wait: ErrTimeout, promptly.
	start := time.Now()
	_, err = c.IP(ctxT(t, 500*time.Millisecond), "noip", IPOptions{Wait: 60 * time.Second})
	assertKind(t, err, ErrTimeout)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout does not carry DeadlineExceeded: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("timed-out call returned after %s", d)
	}
}

func writeCatalog(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "catalog.json")
	cat := `[{"name": "registry.example.com/team/private:1", "os": "linux",
	  "credentials": {"username": "robot", "password": "s3cret-pw"}}]`
	if err := os.WriteFile(p, []byte(cat), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSimRegistryAuth(t *testing.T) {
	c, _ := sim(t, "TART_SIM_CATALOG="+writeCatalog(t))
	const img = "registry.example.com/team/private:1"
	err := c.Pull(ctxT(t, time.Minute), img, PullOptions{})
	assertKind(t, err, ErrAuth)
	err = c.Pull(ctxT(t, time.Minute), img, PullOptions{Credentials: &Credentials{Username: "robot", Password: "wrong"}})
	te := assertKind(t, err, ErrAuth)
	if strings.Contains(te.Error(), "wrong") {
		t.Fatalf("password in error: %v", te)
	}
	// Credentials for another host are not applied by tart.
	err = c.Pull(ctxT(t, time.Minute), img, PullOptions{Credentials: &Credentials{Username: "robot", Password: "s3cret-pw", Hostname: "ghcr.io"}})
	assertKind(t, err, ErrAuth)
	if err := c.Pull(ctxT(t, time.Minute), img, PullOptions{Credentials: &Credentials{Username: "robot", Password: "s3cret-pw", Hostname: "registry.example.com"}}); err != nil {
		t.Fatalf("pull with credentials: %v", err)
	}
	// Clone of a private image also takes per-call credentials.
	err = c.Clone(ctxT(t, time.Minute), "registry.example.com/team/private:1", "priv", CloneOptions{})
	if err != nil {
		t.Fatalf("clone of a cached image needs no credentials: %v", err)
	}
}

func TestSimDiskFull(t *testing.T) {
	c, _ := sim(t, "TART_SIM_DISK_FULL=1")
	err := c.Clone(ctxT(t, time.Minute), ubuntuImage, "full", CloneOptions{})
	te := assertKind(t, err, ErrDiskFull)
	if te.Stderr == "" {
		t.Fatalf("no stderr line: %+v", te)
	}
}

func TestSimUnsupportedExec(t *testing.T) {
	c, _ := sim(t, "TART_SIM_VERSION=2.26.0")
	v, err := c.Version(ctxT(t, 10*time.Second))
	if err != nil || v.String() != "2.26.0" {
		t.Fatalf("version %v %v", v, err)
	}
	_, err = c.Exec(ctxT(t, 10*time.Second), "any", []string{"true"}, ExecOptions{})
	var ue *UnsupportedError
	if !errors.As(err, &ue) || !errors.Is(err, ErrUnsupported) || ue.Need.String() != "2.27.0" {
		t.Fatalf("exec on 2.26.0: %v", err)
	}
	if err := c.Supports(ctxT(t, time.Second), FeatureResolverAgent); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("agent resolver on 2.26.0: %v", err)
	}
}

func TestSimUsageErrors(t *testing.T) {
	c, _ := sim(t)
	// A bad flag value that only tart can judge: classified from exit 64.
	_, err := c.run(ctxT(t, 10*time.Second), call{args: []string{"list", "--format", "yaml"}})
	te := assertKind(t, err, ErrUsage)
	if te.ExitCode != 64 || !strings.HasPrefix(te.Stderr, "Error: ") || strings.HasPrefix(te.Stderr, "Usage") {
		t.Fatalf("%+v", te)
	}
	_, err = c.run(ctxT(t, 10*time.Second), call{args: []string{"ip", "vm", "--resolver", "mdns"}})
	assertKind(t, err, ErrUsage)

	// Bad input the client catches before tart runs.
	for name, err := range map[string]error{
		"malformed image": c.Pull(ctxT(t, time.Second), "not a/valid:image", PullOptions{}),
		"local pull":      c.Pull(ctxT(t, time.Second), "debian:latest", PullOptions{}),
		"bad display":     c.Set(ctxT(t, time.Second), "vm", SetOptions{Display: "huge"}),
		"bad resolver":    func() error { _, err := c.IP(ctxT(t, time.Second), "vm", IPOptions{Resolver: "mdns"}); return err }(),
		"bad net": func() error {
			_, err := c.Run(ctxT(t, time.Second), "vm", RunOptions{Net: Network{Mode: NetHost, Bridged: []string{"en0"}}})
			return err
		}(),
	} {
		var ue *UsageError
		if !errors.Is(err, ErrUsage) || !errors.As(err, &ue) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSimBinaryNotFound(t *testing.T) {
	_, err := New(Options{Binary: filepath.Join(t.TempDir(), "tart")})
	if !errors.Is(err, ErrBinaryNotFound) {
		t.Fatalf("got %v", err)
	}
}

func TestSimExec(t *testing.T) {
	c, _ := sim(t)
	mustClone(t, c, ubuntuImage, "ex")
	mustRun(t, c, "ex", RunOptions{})
	ctx := ctxT(t, time.Minute)
	var out, errOut strings.Builder
	code, err := c.Exec(ctx, "ex", []string{"sh", "-c", "echo hello; echo oops >&2; exit 7"}, ExecOptions{Stdout: &out, Stderr: &errOut})
	if err != nil || code != 7 {
		t.Fatalf("Exec = %d, %v (stderr %q)", code, err, errOut.String())
	}
	if out.String() != "hello\n" || errOut.String() != "oops\n" {
		t.Fatalf("streams %q / %q", out.String(), errOut.String())
	}
	out.Reset()
	code, err = c.Exec(ctx, "ex", []string{"cat"}, ExecOptions{Interactive: true, Stdin: strings.NewReader("piped\n"), Stdout: &out})
	if err != nil || code != 0 || out.String() != "piped\n" {
		t.Fatalf("Exec -i = %d, %v, %q", code, err, out.String())
	}
}

func TestSimExecAgentUnavailable(t *testing.T) {
	c, _ := sim(t, "TART_SIM_NO_AGENT=1")
	mustClone(t, c, ubuntuImage, "noagent")
	mustRun(t, c, "noagent", RunOptions{})
	_, err := c.Exec(ctxT(t, time.Minute), "noagent", []string{"true"}, ExecOptions{})
	assertKind(t, err, ErrAgentUnavailable)
}

func TestSimKilledRunFreesVM(t *testing.T) {
	c, _ := sim(t)
	mustClone(t, c, ubuntuImage, "victim")
	h := mustRun(t, c, "victim", RunOptions{})
	if err := syscall.Kill(h.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done not closed after SIGKILL")
	}
	if h.ExitCode() != -1 || h.Alive() {
		t.Fatalf("exit %d alive %v", h.ExitCode(), h.Alive())
	}
	if s := listState(t, c, "victim"); s != StateStopped {
		t.Fatalf("list says %s after SIGKILL", s)
	}
}

func TestSimRunPassesExtraFiles(t *testing.T) {
	c, _ := sim(t)
	mustClone(t, c, ubuntuImage, "slot")
	lockPath := filepath.Join(t.TempDir(), "slot.lock")
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	h := mustRun(t, c, "slot", RunOptions{ExtraFiles: []*os.File{f}})
	_ = f.Close() // only tart run holds the lock now
	tryLock := func() error {
		g, err := os.OpenFile(lockPath, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer func() { _ = g.Close() }()
		return syscall.Flock(int(g.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	if err := tryLock(); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatalf("lock not held by tart run: %v", err)
	}
	if err := c.Stop(ctxT(t, 30*time.Second), "slot", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	<-h.Done()
	if !waitFor(t, 5*time.Second, func() bool { return tryLock() == nil }) {
		t.Fatal("lock still held after the VM stopped")
	}
}

func TestSimRunLogAndCancelledStart(t *testing.T) {
	c, _ := sim(t)
	mustClone(t, c, ubuntuImage, "logged")
	logPath := filepath.Join(t.TempDir(), "run.log")
	if err := os.WriteFile(logPath, []byte("old line from a previous run: VM \"logged\" is already running!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Old content in the log must not be taken for this run's error.
	h := mustRun(t, c, "logged", RunOptions{LogPath: logPath})
	if h.LogPath != logPath {
		t.Fatalf("log path %q", h.LogPath)
	}
	if err := c.Stop(ctxT(t, 30*time.Second), "logged", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	<-h.Done()
	b, _ := os.ReadFile(logPath)
	if !strings.Contains(string(b), "Stopping VM...") {
		t.Fatalf("log %q", b)
	}

	// ctx cancelled while waiting for the start: the VM process is killed.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Run(ctx, "logged", RunOptions{NoGraphics: true})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("run with cancelled ctx: %v", err)
	}
	if !waitFor(t, 10*time.Second, func() bool { return stateOf(t, c, "logged") == StateStopped }) {
		t.Fatal("VM left running after a cancelled Run")
	}
}

func TestSimSuspend(t *testing.T) {
	c, _ := sim(t)
	mustClone(t, c, macosImage, "susp")
	h := mustRun(t, c, "susp", RunOptions{Suspendable: true})
	if err := c.Suspend(ctxT(t, 10*time.Second), "susp"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("tart run did not exit after suspend")
	}
	if !waitFor(t, 10*time.Second, func() bool { return stateOf(t, c, "susp") == StateSuspended }) {
		t.Fatalf("state %s, want suspended", stateOf(t, c, "susp"))
	}
}

// Run must survive its caller's process group being killed (a GitLab stage
// killed by the runner). A helper process runs Run and is then SIGKILLed
// with its whole process group.
func TestSimRunSurvivesCallerProcessGroupSignal(t *testing.T) {
	c, home := sim(t)
	mustClone(t, c, ubuntuImage, "orphan")
	pid, logPath := startHelperAndKillItsGroup(t, c.Binary(), home, "orphan")
	h := Attach("orphan", pid, logPath)
	if !h.Alive() {
		t.Fatal("tart run died with its caller's process group")
	}
	if h.Done() != nil || h.ExitCode() != -1 {
		t.Fatal("attached handle claims to know the exit")
	}
	if s := stateOf(t, c, "orphan"); s != StateRunning {
		t.Fatalf("state %s", s)
	}
	if err := c.Stop(ctxT(t, 30*time.Second), "orphan", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if !waitFor(t, 10*time.Second, func() bool { return !processRunning(pid) }) {
		t.Fatal("tart run still alive after stop")
	}
	if h.Alive() && processRunning(pid) {
		t.Fatal("Alive() true for a dead process")
	}
}

// The argv RunArgs builds for a full set of options is accepted by the
// simulator (which parses run flags like tart) and the VM runs.
func TestSimRunWithManyOptions(t *testing.T) {
	c, _ := sim(t)
	mustClone(t, c, ubuntuImage, "opts")
	dir := t.TempDir()
	disk := filepath.Join(dir, "data.img")
	if err := os.WriteFile(disk, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	variants := map[string]RunOptions{
		"shares and disks": {
			Dirs:     []Share{{Name: "src", Path: dir, ReadOnly: true}, {Name: "cache", Path: dir, Tag: "cachetag"}},
			Disks:    []Disk{{Path: disk, ReadOnly: true, Sync: SyncNone, Caching: CachingCached}},
			RootDisk: DiskOptions{Sync: SyncNone, Caching: CachingCached},
			Nested:   true, Serial: true, NoAudio: true, NoClipboard: true,
		},
		"softnet": {Net: Network{SoftnetAllow: []string{"10.0.0.0/8"}, SoftnetBlock: []string{"192.168.0.0/16"}, SoftnetExpose: []string{"2222:22"}}},
	}
	for name, o := range variants {
		t.Run(name, func(t *testing.T) {
			h := mustRun(t, c, "opts", o)
			if err := c.Stop(ctxT(t, 30*time.Second), "opts", 5*time.Second); err != nil {
				t.Fatal(err)
			}
			<-h.Done()
		})
	}
}

func TestSimPullFailure(t *testing.T) {
	c, _ := sim(t, "TART_SIM_PULL_FAIL=1")
	var lines []string
	err := c.Pull(ctxT(t, time.Minute), ubuntuImage, PullOptions{Progress: func(l string) { lines = append(lines, l) }})
	te := assertKind(t, err, ErrFailed)
	if te.ExitCode != 1 || !strings.Contains(te.Stderr, "network connection was lost") {
		t.Fatalf("%+v", te)
	}
	retries := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "Error pulling image:") {
			retries++
		}
	}
	if retries == 0 {
		t.Fatalf("retry lines not delivered: %q", lines)
	}
}

func TestSimPrivateCloneCredentials(t *testing.T) {
	catalog := "TART_SIM_CATALOG=" + writeCatalog(t)
	c, _ := sim(t, catalog)
	const img = "registry.example.com/team/private:1"
	assertKind(t, c.Clone(ctxT(t, time.Minute), img, "priv", CloneOptions{}), ErrAuth)
	if err := c.Clone(ctxT(t, time.Minute), img, "priv", CloneOptions{Credentials: &Credentials{Username: "robot", Password: "s3cret-pw"}}); err != nil {
		t.Fatalf("clone with credentials: %v", err)
	}
	if s := stateOf(t, c, "priv"); s != StateStopped {
		t.Fatalf("cloned VM state %s", s)
	}
}

func TestSimSnapshotVersionIsNewest(t *testing.T) {
	c, _ := sim(t, "TART_SIM_VERSION=SNAPSHOT")
	for _, f := range []Feature{FeatureExec, FeatureSoftnetBlock, FeatureResolverAgent} {
		if err := c.Supports(ctxT(t, 10*time.Second), f); err != nil {
			t.Fatalf("%s on SNAPSHOT: %v", f, err)
		}
	}
}

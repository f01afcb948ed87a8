package tart

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// `tart run` handles: detaching, logs, inherited files, kills, suspend.

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

	// ctx already cancelled: nothing starts.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Run(ctx, "logged", RunOptions{NoGraphics: true}); !errors.Is(err, context.Canceled) {
		t.Fatalf("run with cancelled ctx: %v", err)
	}
}

// A start abandoned by its caller (ctx cancelled, or StartTimeout) kills
// the VM process: no handle, no VM left running.
func TestSimAbandonedStartKillsVM(t *testing.T) {
	c, _ := sim(t)
	mustClone(t, c, ubuntuImage, "abandoned")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watcher := make(chan struct{})
	defer func() { cancel(); <-watcher }()
	go func() {
		defer close(watcher)
		// Cancel once the VM runs, while Run still waits out StartSettle.
		waitFor(t, 30*time.Second, func() bool {
			info, err := c.Get(ctx, "abandoned")
			return ctx.Err() != nil || err == nil && info.State == StateRunning
		})
		cancel()
	}()
	_, err := c.Run(ctx, "abandoned", RunOptions{NoGraphics: true, StartSettle: time.Minute})
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrFailed) {
		t.Fatalf("cancelled start: %v", err)
	}
	if s := stateOf(t, c, "abandoned"); s != StateStopped {
		t.Fatalf("state %s after a cancelled start", s)
	}

	_, err = c.Run(ctxT(t, time.Minute), "abandoned", RunOptions{NoGraphics: true, StartTimeout: time.Millisecond})
	assertKind(t, err, ErrTimeout)
	if s := stateOf(t, c, "abandoned"); s != StateStopped {
		t.Fatalf("state %s after a timed-out start", s)
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

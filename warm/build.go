package warm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tartanhq/tartan/guest"
	"github.com/tartanhq/tartan/tart"
)

// BuildOptions are the caller's part of a build.
type BuildOptions struct {
	// ExtraFiles are inherited by the build VM's `tart run`: give it the
	// macOS slot the build uses (slots.Slot.File), so the slot stays taken
	// exactly as long as the build VM runs.
	ExtraFiles []*os.File
	// Run carries other `tart run` options (network, root disk). Dirs are
	// taken from Spec.Shares; Suspendable and NoGraphics are set.
	Run tart.RunOptions
	// Preempt, when it returns true (polled every 200 ms), aborts the build
	// and frees its slot: a job waits for one (see Demand.Waiting).
	Preempt func() bool
	// OnRun, if set, gets the PID of the build VM's tart run (for slot
	// holder records).
	OnRun func(pid int)
	// Connect overrides Options.Connect for this build (per-task guest
	// credentials).
	Connect ConnectFunc
}

// ErrPreempted: a build gave its slot up for a waiting job.
var ErrPreempted = errors.New("warm snapshot build preempted by a job waiting for a slot")

// Build makes slot's snapshot of spec: clone, size, run --suspendable, wait
// for the guest, run the warm-up script, suspend, wait for "suspended",
// rename, write the metadata. The slot's earlier snapshot of the same image
// (an older digest, another size or warm-up) is deleted afterwards, and
// snapshots over the budget are evicted. Only one build per slot runs at a
// time (ErrBuildBusy). Linux images give ErrNotMacOS.
func (m *Manager) Build(ctx context.Context, spec Spec, slot string, bo BuildOptions) (Snapshot, error) {
	if err := validSlot(slot); err != nil {
		return Snapshot{}, err
	}
	resolved, err := m.resolve(ctx, spec)
	if err != nil && tart.IsRemoteName(spec.Image) {
		// Not in tart's cache yet: pull it (the clone would anyway).
		if perr := m.o.Tart.Pull(ctx, spec.Image, tart.PullOptions{Credentials: spec.Credentials}); perr != nil {
			return Snapshot{}, fmt.Errorf("%w: pulling %s: %w", ErrBuildFailed, spec.Image, perr)
		}
		resolved, err = m.resolve(ctx, spec)
	}
	if err != nil {
		return Snapshot{}, err
	}
	spec = resolved
	if m.disabled(spec) {
		return Snapshot{}, fmt.Errorf("%w (image %s, key %s)", ErrDisabled, spec.Image, spec.Key())
	}
	if m.notMacOS(spec) {
		return Snapshot{}, ErrNotMacOS
	}
	lk, err := lockFile(m.buildLockPath(slot), false)
	if err != nil {
		return Snapshot{}, err
	}
	if lk == nil {
		return Snapshot{}, ErrBuildBusy
	}
	defer lk.unlock()

	var preempted atomic.Bool
	if bo.Preempt != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go watchPreempt(ctx, bo.Preempt, func() { preempted.Store(true); cancel() })
	}
	start := m.o.Now()
	tmp := buildName(spec, slot)
	// Leftovers of a crashed build of this slot (we hold its lock now).
	m.removeBuilds(ctx, slot)
	snap, err := m.build(ctx, spec, slot, tmp, bo)
	if err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
		defer cancel()
		_ = m.deleteVM(cctx, tmp)
		if preempted.Load() {
			m.o.Logf("warm: build of %s for slot %s gave the slot up: a job waits for one", spec.Image, slot)
			return Snapshot{}, ErrPreempted
		}
		return Snapshot{}, err
	}
	snap.BuildTook = m.o.Now().Sub(start).Round(time.Millisecond).String()
	if err := m.writeMeta(snap); err != nil {
		return Snapshot{}, fmt.Errorf("writing snapshot metadata: %w", err)
	}
	// The new snapshot is usable: retire the slot's older ones of this image.
	all, _ := m.Snapshots()
	for _, o := range all {
		if o.Slot == slot && o.Image == spec.Image && o.Name != snap.Name {
			m.o.Logf("warm: replacing snapshot %s (digest %s) with %s (digest %s)", o.Name, o.Digest, snap.Name, snap.Digest)
			_ = m.remove(ctx, o.Name)
		}
	}
	if err := m.evict(ctx, snap.Name); err != nil {
		return Snapshot{}, err
	}
	m.o.Logf("warm: built snapshot %s of %s (%s) for slot %s in %s", snap.Name, spec.Image, snap.Digest, slot, snap.BuildTook)
	return snap, nil
}

func watchPreempt(ctx context.Context, preempt func() bool, cancel func()) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if preempt() {
				cancel()
				return
			}
		}
	}
}

func (m *Manager) build(ctx context.Context, spec Spec, slot, tmp string, bo BuildOptions) (Snapshot, error) {
	c := m.o.Tart
	fail := func(step string, err error) (Snapshot, error) {
		return Snapshot{}, fmt.Errorf("%w: %s: %w", ErrBuildFailed, step, err)
	}
	if err := c.Clone(ctx, spec.Image, tmp, tart.CloneOptions{Credentials: spec.Credentials}); err != nil {
		return fail("cloning "+spec.Image, err)
	}
	info, err := c.Get(ctx, tmp)
	if err != nil {
		return fail("reading the clone", err)
	}
	if info.OS == "linux" {
		m.markNotMacOS(spec)
		return Snapshot{}, ErrNotMacOS
	}
	// A MAC of its own: the snapshot's MAC is every job clone's MAC.
	so := tart.SetOptions{RandomMAC: true}
	if spec.Configure != nil {
		if err := spec.Configure(ctx, tmp); err != nil {
			return fail("configuring the VM", err)
		}
	} else {
		so.CPU, so.MemoryMB = spec.CPU, spec.MemoryMB
		if spec.DiskSizeGB > info.Disk {
			so.DiskSizeGB = spec.DiskSizeGB
		}
	}
	if err := c.Set(ctx, tmp, so); err != nil {
		return fail("sizing the VM", err)
	}
	ro := bo.Run
	ro.Dirs = spec.Shares
	ro.Suspendable, ro.NoGraphics = true, true
	ro.ExtraFiles = bo.ExtraFiles
	ro.LogPath = filepath.Join(m.o.Dir, "logs", slot+".log")
	ro.StartSettle = -1
	h, err := c.Run(ctx, tmp, ro)
	if err != nil {
		return fail("starting the VM", err)
	}
	if bo.OnRun != nil {
		bo.OnRun(h.PID)
	}
	if err := m.bootAndWarm(ctx, spec, tmp, h, bo.Connect); err != nil {
		_ = stopRun(h)
		return fail("booting the VM", err)
	}
	if err := c.Suspend(ctx, tmp); err != nil {
		_ = stopRun(h)
		return fail("suspending the VM", err)
	}
	select {
	case <-h.Done():
	case <-ctx.Done():
		_ = stopRun(h)
		return fail("waiting for the snapshot", ctx.Err())
	case <-time.After(10 * time.Minute):
		_ = stopRun(h)
		return fail("waiting for the snapshot", errors.New("tart run did not exit within 10 minutes of tart suspend"))
	}
	if code := h.ExitCode(); code != 0 {
		return fail("suspending the VM", fmt.Errorf("tart run exited with %s: %s", h.ExitDescription(), h.LogTail(3)))
	}
	after, err := c.Get(ctx, tmp)
	if err != nil {
		return fail("reading the suspended VM", err)
	}
	if after.State != tart.StateSuspended {
		return fail("suspending the VM", fmt.Errorf("state is %s, not suspended", after.State))
	}
	name := SnapshotName(spec, slot)
	_ = m.remove(ctx, name) // an incomplete one of an earlier crash
	if err := c.Rename(ctx, tmp, name); err != nil {
		return fail("renaming the snapshot", err)
	}
	return Snapshot{
		Name: name, Slot: slot, Key: spec.Key(), Image: spec.Image, Digest: spec.Digest,
		CPU: after.CPU, MemoryMB: after.Memory, DiskSizeGB: after.Disk, Shares: shareKeys(spec.Shares),
		WarmUp: spec.WarmUp != "", CostGB: m.cost(ctx, name, after.Memory), BuiltAt: m.o.Now().UTC(),
	}, nil
}

// bootAndWarm waits for the guest and runs the warm-up script.
func (m *Manager) bootAndWarm(ctx context.Context, spec Spec, vm string, h *tart.RunHandle, connect ConnectFunc) error {
	if connect == nil {
		connect = m.o.Connect
	}
	if connect == nil {
		return fmt.Errorf("%w: Options.Connect or BuildOptions.Connect is required to build snapshots", ErrInvalid)
	}
	bctx, cancel := h.Watch(ctx)
	defer cancel()
	bctx, cancelT := context.WithTimeout(bctx, m.o.BootTimeout)
	defer cancelT()
	tr, err := connect(bctx, vm, h)
	if err != nil {
		if !h.Alive() {
			return fmt.Errorf("%w (%s)", err, h.LogTail(3))
		}
		return err
	}
	defer tr.Close()
	if spec.WarmUp == "" {
		return nil
	}
	wctx, cancelW := context.WithTimeout(bctx, m.o.WarmUpTimeout)
	defer cancelW()
	var out tailBuffer
	res, err := tr.Run(wctx, guest.Command{Shell: "/bin/sh", Script: spec.WarmUp, Stdout: &out, Stderr: &out})
	if err != nil {
		return fmt.Errorf("warm-up script: %w", err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("warm-up script exited with code %d: %s", res.ExitCode, out.String())
	}
	return nil
}

// cost is the snapshot's disk use in GB: allocated disk + saved memory.
func (m *Manager) cost(ctx context.Context, name string, memoryMiB int) int {
	gb := (memoryMiB*1048576 + 999_999_999) / 1_000_000_000
	if vms, err := m.o.Tart.List(ctx, tart.ListOptions{Source: "local"}); err == nil {
		for _, v := range vms {
			if v.Name == name {
				gb += v.Size
			}
		}
	}
	return gb
}

func stopRun(h *tart.RunHandle) error {
	if h == nil || !h.Alive() {
		return nil
	}
	p, err := os.FindProcess(h.PID)
	if err != nil {
		return err
	}
	_ = p.Signal(os.Interrupt)
	select {
	case <-h.Done():
		return nil
	case <-time.After(10 * time.Second):
		_ = p.Kill()
		<-h.Done()
		return nil
	}
}

// tailBuffer keeps the last 2 KiB written to it (warm-up output for errors).
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 2048 {
		t.b = t.b[len(t.b)-2048:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

package tartdriver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/hashicorp/nomad/plugins/shared/hclspec"
	"github.com/tartanhq/tartan/guest"
	"github.com/tartanhq/tartan/nomad/tartdevice"
	"github.com/tartanhq/tartan/slots"
	"github.com/tartanhq/tartan/tart"
	"github.com/tartanhq/tartan/warm"
)

// Warm starts (docs/warm-start.md): a macOS task with `warm_start = true`
// on a client whose plugin block has `warm { enabled = true }` resumes the
// suspended snapshot of the slot Nomad reserved for it (nomad-device-tart)
// instead of booting. When a warm-enabled task's VM is destroyed, the slot
// it released builds (or refreshes) its snapshot in the background, unless
// a task wants the slot: the build then gives it up at once.

// WarmConfig is the plugin's `warm { ... }` block.
type WarmConfig struct {
	Enabled       bool   `codec:"enabled"`
	Dir           string `codec:"dir"`
	BudgetGB      int    `codec:"budget_gb"`
	WarmUpScript  string `codec:"warm_up_script"` // host path of a script run in the guest before it is suspended
	ResumeTimeout string `codec:"resume_timeout"`
}

const defaultResumeTimeout = "60s"

func warmConfigSpec() *hclspec.Spec {
	return hclspec.NewBlock("warm", false, hclspec.NewObject(map[string]*hclspec.Spec{
		"enabled":        withDefault("enabled", "bool", "false"),
		"dir":            hclspec.NewAttr("dir", "string", false),
		"budget_gb":      withDefault("budget_gb", "number", "0"),
		"warm_up_script": hclspec.NewAttr("warm_up_script", "string", false),
		"resume_timeout": withDefault("resume_timeout", "string", `"`+defaultResumeTimeout+`"`),
	}))
}

// warmManagers keeps one warm.Manager per state dir and TART_HOME for the
// plugin's lifetime (it remembers what it logged once).
var warmManagers sync.Map

func (d *Driver) warmManager(pc *PluginConfig, client *tart.Client) (*warm.Manager, error) {
	w := pc.Warm
	dir := w.Dir
	if dir == "" {
		dir = warm.DefaultDir
	}
	key := dir + "\x00" + pc.TartHome
	if m, ok := warmManagers.Load(key); ok {
		return m.(*warm.Manager), nil
	}
	resume, err := parseDuration("warm.resume_timeout", w.ResumeTimeout, defaultResumeTimeout)
	if err != nil {
		return nil, err
	}
	m, err := warm.New(warm.Options{Tart: client, Dir: dir, BudgetGB: w.BudgetGB, ResumeTimeout: resume,
		Logf: func(format string, args ...any) { d.logger.Info(fmt.Sprintf(format, args...)) }})
	if err != nil {
		return nil, fmt.Errorf("%w: warm block: %v", ErrBadConfig, err)
	}
	actual, _ := warmManagers.LoadOrStore(key, m)
	return actual.(*warm.Manager), nil
}

// warmTask is one task's warm start: its snapshot spec and reserved slot.
type warmTask struct {
	m       *warm.Manager
	spec    warm.Spec
	slot    int
	connect warm.ConnectFunc
	net     tart.RunOptions // network and root disk options for builds

	snap   warm.Snapshot // set when the VM was cloned from a snapshot
	cloned bool
}

// warmFor returns the task's warm start, or nil when it does not apply:
// warm starts off in the plugin or the task, no macOS-slot reservation.
func (d *Driver) warmFor(pc *PluginConfig, client *tart.Client, cfg *drivers.TaskConfig, s *taskSettings, tc *TaskConfig) (*warmTask, error) {
	if !pc.Warm.Enabled || !tc.WarmStart {
		return nil, nil
	}
	n, reserved, err := tartdevice.ReservedSlot(cfg.Env)
	if err != nil || !reserved {
		return nil, nil // takeSlot reports a bad reservation; without one there is no slot to pick a snapshot by
	}
	m, err := d.warmManager(pc, client)
	if err != nil {
		return nil, err
	}
	script := ""
	if pc.Warm.WarmUpScript != "" {
		b, err := os.ReadFile(pc.Warm.WarmUpScript)
		if err != nil {
			return nil, fmt.Errorf("%w: warm.warm_up_script: %v", ErrBadConfig, err)
		}
		script = string(b)
	}
	slotDir := filepath.Join(firstNonEmpty(pc.Warm.Dir, warm.DefaultDir), "shares", warm.SlotID(n))
	var shares []tart.Share
	for _, sh := range taskShares(cfg) {
		// The snapshot is built with stable per-slot directories under the
		// same share names; each task shares its own (see docs).
		sh.Path = filepath.Join(slotDir, sh.Name)
		if err := os.MkdirAll(sh.Path, 0o755); err != nil {
			return nil, fmt.Errorf("warm share dir: %w", err)
		}
		shares = append(shares, sh)
	}
	shares = append(shares, s.Run.Dirs...)
	totalMHz, cores := d.hostCompute()
	size := sizeVM(s.CPU, s.MemoryMB, cfg.Resources, totalMHz, cores)
	spec := warm.Spec{
		Image: s.Image, Shares: shares, WarmUp: script, Credentials: s.Credentials,
		ConfigKey: fmt.Sprintf("cpu=%d mem=%d disk=%d display=%q size=%d/%d", s.CPU, s.MemoryMB, s.DiskSizeGB, s.Display, size.CPU, size.MemoryMB),
		Configure: func(ctx context.Context, vm string) error {
			info, err := client.Get(ctx, vm)
			if err != nil {
				return err
			}
			b := &vmBuild{d: d, client: client, name: vm, cfg: cfg}
			return b.configure(ctx, s, info)
		},
	}
	connect := func(ctx context.Context, vm string, _ *tart.RunHandle) (guest.Transport, error) {
		wait := s.ReadyTimeout
		if dl, ok := ctx.Deadline(); ok {
			wait = time.Until(dl)
		}
		return connectResumed(ctx, client, s.target(vm, ""), wait)
	}
	return &warmTask{m: m, spec: spec, slot: n, connect: connect,
		net: tart.RunOptions{Net: s.Run.Net, RootDisk: s.Run.RootDisk}}, nil
}

// cloneWarm clones the reserved slot's snapshot into the task's VM name.
// No snapshot (or a mismatch) leaves w.cloned false: clone cold.
func (w *warmTask) cloneWarm(ctx context.Context, b *vmBuild, cfg *drivers.TaskConfig, s *taskSettings) {
	dirs := append(taskShares(cfg), s.Run.Dirs...)
	snap, spec, err := w.m.CloneSnapshot(ctx, w.spec, warm.SlotID(w.slot), b.name, dirs)
	if err != nil {
		if !errors.Is(err, warm.ErrNoSnapshot) {
			b.d.emit(cfg, "Warm start not possible, booting cold: "+err.Error(), nil)
		}
		return
	}
	w.spec, w.snap, w.cloned = spec, snap, true
	b.cloned = true
	b.d.emit(cfg, fmt.Sprintf("Resuming VM %s from snapshot %s", b.name, snap.Name), nil)
}

// confirmResume waits (bounded by the resume timeout) for the resumed
// guest to answer through the normal connect check, then sets its clock.
// On failure the snapshot is retired (logged once) and the caller boots cold.
func (w *warmTask) confirmResume(ctx context.Context, b *vmBuild, run *tart.RunHandle) error {
	wctx, cancel := run.Watch(ctx)
	defer cancel()
	rctx, cancelT := context.WithTimeout(wctx, w.m.ResumeTimeout())
	defer cancelT()
	tr, err := w.connect(rctx, b.name, run)
	if err == nil {
		w.m.Resumed(ctx, w.spec, w.snap, b.name, tr)
		_ = tr.Close()
		return nil
	}
	if !run.Alive() {
		err = fmt.Errorf("%w; tart run: %s", err, strings.TrimSpace(run.LogTail(2)))
	}
	w.failed(ctx, b, err)
	if rerr := removeVM(ctx, b.client, b.name); rerr != nil {
		return rerr
	}
	<-run.Done() // bounded: removeVM stopped it
	return err
}

// failed retires the snapshot after a failed resume (logged once).
func (w *warmTask) failed(ctx context.Context, b *vmBuild, err error) {
	w.m.ResumeFailed(ctx, w.spec, w.snap, err)
	b.d.emit(b.cfg, "Resume failed, booting cold: "+err.Error(), nil)
	w.cloned = false
}

// buildAfter rebuilds the task's slot snapshot in the background once its
// VM is gone (the slot is free now), unless a task wants a slot.
func (d *Driver) buildAfter(pool *slots.Pool, w *warmTask) {
	wg, _ := warmBuilds.LoadOrStore(d, &sync.WaitGroup{})
	wg.(*sync.WaitGroup).Add(1)
	go func() {
		defer wg.(*sync.WaitGroup).Done()
		// Dead builds (a crashed plugin's build VM may still hold a slot)
		// and snapshots unused for a week go first.
		if gone, err := w.m.Sweep(d.ctx, warm.SweepOptions{UnusedFor: warmUnusedFor}); err == nil && len(gone) > 0 {
			d.logger.Info("warm snapshots swept", "deleted", strings.Join(gone, ", "))
		}
		snap, err := w.m.BuildInSlot(d.ctx, pool, w.slot, w.spec, warm.BuildOptions{Run: w.net, Connect: w.connect})
		switch {
		case err == nil && snap.Name != "":
			d.logger.Info("warm snapshot built", "snapshot", snap.Name, "slot", w.slot, "took", snap.BuildTook)
		case err == nil, errors.Is(err, warm.ErrSlotWanted), errors.Is(err, warm.ErrPreempted), errors.Is(err, warm.ErrNotMacOS):
		default:
			d.logger.Warn("warm snapshot build failed", "slot", w.slot, "image", w.spec.Image, "error", err)
		}
	}()
}

// takeSlotWarm is takeSlot for a warm-enabled plugin: when the reserved
// slot is held by a snapshot build, it marks demand (the build gives the
// slot up within a second or so) and retries for up to warmYieldWait.
func (d *Driver) takeSlotWarm(pc *PluginConfig, client *tart.Client, pool *slots.Pool, kind slots.Kind, cfg *drivers.TaskConfig) (*slots.Slot, error) {
	slot, err := takeSlot(pool, kind, cfg)
	if err == nil || !pc.Warm.Enabled || kind != slots.KindMacOS || !errors.Is(err, ErrNoSlot) || !buildHolds(pool) {
		return slot, err
	}
	m, merr := d.warmManager(pc, client)
	if merr != nil {
		return nil, err
	}
	dm, merr := m.Want()
	if merr != nil {
		return nil, err
	}
	defer dm.Release()
	// A build whose plugin died leaves its VM holding the slot: the sweep
	// stops it (a live build sees the demand and yields by itself).
	_, _ = m.Sweep(d.ctx, warm.SweepOptions{})
	deadline := time.Now().Add(warmYieldWait)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		if slot, err = takeSlot(pool, kind, cfg); err == nil || !errors.Is(err, ErrNoSlot) {
			return slot, err
		}
	}
	return slot, err
}

const warmYieldWait = 30 * time.Second

// warmUnusedFor: snapshots nobody resumed for this long are deleted.
const warmUnusedFor = 7 * 24 * time.Hour

func buildHolds(pool *slots.Pool) bool {
	hs, _ := pool.Holders(slots.KindMacOS)
	for _, h := range hs {
		if strings.HasPrefix(h.Owner, warm.BuildOwner) {
			return true
		}
	}
	return false
}

// warmBuilds counts each driver's background builds (tests wait for them).
var warmBuilds sync.Map

// waitWarmBuilds waits for d's background snapshot builds to end.
func (d *Driver) waitWarmBuilds() {
	if wg, ok := warmBuilds.Load(d); ok {
		wg.(*sync.WaitGroup).Wait()
	}
}

// warmTasks maps task IDs to their warm start, for the rebuild at DestroyTask.
var warmTasks sync.Map

// cloneAndStart is StartTask's clone, configure, slot and tart run. A VM
// cloned from a snapshot (wt.cloned) is run unchanged and must answer
// within the resume timeout; otherwise it is replaced by a cold clone in
// the same slot. slot is nil unless a warm start took it already.
func (b *vmBuild) cloneAndStart(ctx context.Context, s *taskSettings, wt *warmTask, pool *slots.Pool, slot *slots.Slot, stateDir string) (tart.VMInfo, *tart.RunHandle, error) {
	if wt != nil && wt.cloned {
		info, err := b.client.Get(ctx, b.name)
		if err != nil {
			return info, nil, fmt.Errorf("inspecting the new VM: %w", err)
		}
		run, err := b.start(ctx, s, info.OS, slot, stateDir)
		if err != nil {
			// tart run ended before it showed as running: a refused restore.
			wt.failed(ctx, b, err)
		} else if err = wt.confirmResume(ctx, b, run); err == nil {
			_ = slot.SetPID(run.PID)
			return info, run, nil
		}
		if ctx.Err() != nil {
			return info, nil, err
		}
		if rerr := removeVM(ctx, b.client, b.name); rerr != nil {
			return info, nil, rerr
		}
		b.cloned = false
	}
	if err := b.clone(ctx, s); err != nil {
		return tart.VMInfo{}, nil, err
	}
	info, err := b.client.Get(ctx, b.name)
	if err != nil {
		return info, nil, fmt.Errorf("inspecting the new VM: %w", err)
	}
	if err := b.configure(ctx, s, info); err != nil {
		return info, nil, err
	}
	if slot == nil {
		kind, err := slots.KindForOS(firstNonEmpty(info.OS, "darwin"))
		if err != nil {
			return info, nil, err
		}
		if slot, err = b.d.takeSlotWarm(b.pc, b.client, pool, kind, b.cfg); err != nil {
			return info, nil, err
		}
		defer func() { _ = slot.Release() }() // tart run holds its own copy for the VM's lifetime
	}
	run, err := b.start(ctx, s, info.OS, slot, stateDir)
	if err != nil {
		return info, nil, err
	}
	// Holders show the VM process: the slot lives as long as it does.
	_ = slot.SetPID(run.PID)
	return info, run, nil
}

// connectResumed is connectGuest polling every 50 ms at most: a resumed
// guest answers within moments, and guest.Connect's default backoff
// (doubling up to 5 s) would add up to its last step to every warm start.
func connectResumed(ctx context.Context, c *tart.Client, t guestTarget, wait time.Duration) (guest.Transport, error) {
	mode, err := guest.ParseMode(t.Transport)
	if err != nil {
		return nil, err
	}
	if mode == guest.ModeAuto && t.SSHPassword == "" && len(t.SSHKey) == 0 {
		mode = guest.ModeAgent
	}
	tr, err := guest.Connect(ctx, guest.Config{
		Mode: mode, Tart: c, VM: t.VM, SSHPort: t.SSHPort, BootWait: wait, MaxRetryInterval: 50 * time.Millisecond,
		SSH: guest.SSHConfig{User: t.SSHUser, Password: t.SSHPassword, PrivateKey: t.SSHKey, RetryUntil: wait},
	})
	if err != nil {
		return nil, fmt.Errorf("connecting to the guest of %s (transport %s): %w", t.VM, mode, err)
	}
	return tr, nil
}

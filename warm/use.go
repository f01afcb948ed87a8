package warm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tartanhq/tartan/guest"
	"github.com/tartanhq/tartan/tart"
)

// Lookup returns slot's usable snapshot of spec: its metadata exists and
// its VM is suspended. ErrNoSnapshot otherwise.
func (m *Manager) Lookup(ctx context.Context, spec Spec, slot string) (Snapshot, error) {
	if err := validSlot(slot); err != nil {
		return Snapshot{}, err
	}
	spec, err := m.resolve(ctx, spec)
	if err != nil {
		return Snapshot{}, err
	}
	return m.lookup(ctx, spec, slot)
}

func (m *Manager) lookup(ctx context.Context, spec Spec, slot string) (Snapshot, error) {
	name := SnapshotName(spec, slot)
	snap, err := m.readMeta(name)
	if err != nil {
		return Snapshot{}, fmt.Errorf("%w for %s in slot %s", ErrNoSnapshot, spec.Image, slot)
	}
	info, err := m.o.Tart.Get(ctx, name)
	if err != nil || info.State != tart.StateSuspended {
		return Snapshot{}, fmt.Errorf("%w for %s in slot %s (VM %s not suspended)", ErrNoSnapshot, spec.Image, slot, name)
	}
	return snap, nil
}

// StartRequest is one job's VM start.
type StartRequest struct {
	Spec Spec
	Slot string // the macOS slot the job holds
	VM   string // the job's VM name
	// Run is used for both paths. For a warm start its Dirs must have the
	// names/tags/read-only flags of Spec.Shares (Spec.SameShares).
	Run tart.RunOptions
	// Cold prepares VM for a cold boot: the tool's normal clone + tart set.
	Cold func(ctx context.Context) error
	// Connect overrides Options.Connect.
	Connect ConnectFunc
	// NoWarm skips the snapshot (the admin turned warm starts off, or a
	// Linux guest): a plain cold start through the same code.
	NoWarm bool
}

// Started is a running, reachable job VM.
type Started struct {
	Run       *tart.RunHandle
	Transport guest.Transport
	Warm      bool   // resumed from Snapshot
	Snapshot  string // the snapshot resumed ("" = cold)
	// Fallback says why a warm start was tried and given up (nil when
	// warm, or when there was simply no snapshot).
	Fallback error
}

// Start starts req.VM: resumed from slot's snapshot when one matches, else
// (or when the resume fails) cold through req.Cold. After a resume the
// guest's clock is set from the host; the caller's Connect (IP, agent/SSH)
// runs on both paths. A failed resume deletes the VM and the snapshot
// (logged once), counts against MaxResumeFailures, and boots cold.
func (m *Manager) Start(ctx context.Context, req StartRequest) (*Started, error) {
	connect := req.Connect
	if connect == nil {
		connect = m.o.Connect
	}
	if connect == nil || req.Cold == nil {
		return nil, fmt.Errorf("%w: StartRequest needs Cold and a Connect", ErrInvalid)
	}
	var fallback error
	if !req.NoWarm {
		st, err := m.startWarm(ctx, req, connect)
		if err == nil {
			return st, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		if !errors.Is(err, ErrNoSnapshot) {
			fallback = err
		}
	}
	if err := req.Cold(ctx); err != nil {
		return nil, err
	}
	ro := req.Run
	h, err := m.o.Tart.Run(ctx, req.VM, ro)
	if err != nil {
		return nil, err
	}
	wctx, cancel := h.Watch(ctx)
	defer cancel()
	tr, err := connect(wctx, req.VM, h)
	if err != nil {
		return &Started{Run: h, Fallback: fallback}, err
	}
	return &Started{Run: h, Transport: tr, Fallback: fallback}, nil
}

func (m *Manager) startWarm(ctx context.Context, req StartRequest, connect ConnectFunc) (*Started, error) {
	snap, spec, err := m.CloneSnapshot(ctx, req.Spec, req.Slot, req.VM, req.Run.Dirs)
	if err != nil {
		return nil, err
	}
	c := m.o.Tart
	ro := req.Run
	ro.Suspendable = false // a resumed VM is suspendable anyway; the flag is not needed
	h, err := c.Run(ctx, req.VM, ro)
	if err == nil {
		wctx, cancel := h.Watch(ctx)
		rctx, cancelT := context.WithTimeout(wctx, m.o.ResumeTimeout)
		var tr guest.Transport
		tr, err = connect(rctx, req.VM, h)
		cancelT()
		cancel()
		if err == nil {
			m.Resumed(ctx, spec, snap, req.VM, tr)
			return &Started{Run: h, Transport: tr, Warm: true, Snapshot: snap.Name}, nil
		}
		if !h.Alive() {
			err = fmt.Errorf("%w; tart run: %s", err, h.LogTail(2))
		}
		_ = stopRun(h)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	m.ResumeFailed(ctx, spec, snap, err)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	_ = m.deleteVM(cctx, req.VM)
	return nil, fmt.Errorf("resuming snapshot %s failed: %w", snap.Name, err)
}

// CloneSnapshot is the first half of a warm start for callers that drive
// the run and the readiness check themselves (the Nomad driver boots in the
// background): it finds slot's snapshot of spec, checks that dirs (the
// job's shares) match it, and clones it to dst. Run dst unchanged (no
// `tart set`), then call Resumed, or ResumeFailed and boot cold. The
// returned Spec has its digest resolved (pass it to Resumed/ResumeFailed).
// ErrNoSnapshot when there is nothing to resume.
func (m *Manager) CloneSnapshot(ctx context.Context, spec Spec, slot, dst string, dirs []tart.Share) (Snapshot, Spec, error) {
	if err := validSlot(slot); err != nil {
		return Snapshot{}, spec, err
	}
	resolved, err := m.resolve(ctx, spec)
	if err != nil {
		// An image tart has not cached (yet) has no snapshot either.
		return Snapshot{}, spec, fmt.Errorf("%w: %w", ErrNoSnapshot, err)
	}
	spec = resolved
	snap, err := m.lookup(ctx, spec, slot)
	if err != nil {
		return Snapshot{}, spec, err
	}
	if !spec.SameShares(dirs) {
		err := fmt.Errorf("the job's directory shares differ from snapshot %s's (names, tags, read-only): a resume would fail", snap.Name)
		m.logOnce("shares "+snap.Name, "warm: %v; booting cold", err)
		return Snapshot{}, spec, err
	}
	if err := m.o.Tart.Clone(ctx, snap.Name, dst, tart.CloneOptions{}); err != nil {
		return Snapshot{}, spec, fmt.Errorf("cloning snapshot %s: %w", snap.Name, err)
	}
	return snap, spec, nil
}

// Resumed finishes a warm start once the guest answers: it sets the guest
// clock from the host (a failure is logged: the job can run with a wrong
// clock) and records the use.
func (m *Manager) Resumed(ctx context.Context, spec Spec, snap Snapshot, vm string, tr guest.Transport) {
	if err := m.syncClock(ctx, tr); err != nil {
		m.o.Logf("warm: VM %s: %v", vm, err)
	}
	m.used(snap, spec)
}

// used records a successful resume.
func (m *Manager) used(snap Snapshot, spec Spec) {
	snap.LastUsed = m.o.Now().UTC()
	snap.Uses++
	if _, err := m.readMeta(snap.Name); err == nil { // not evicted meanwhile
		_ = m.writeMeta(snap)
	}
	m.setFailures(spec, 0)
}

// ResumeFailed retires a snapshot whose resume failed: logged once, the
// snapshot deleted (the next build in the slot makes a new one), and the
// failure counted (after MaxResumeFailures in a row builds of the spec
// stop with ErrDisabled).
func (m *Manager) ResumeFailed(ctx context.Context, spec Spec, snap Snapshot, reason error) {
	n := m.failures(spec) + 1
	m.setFailures(spec, n)
	m.logOnce("resume "+snap.Name, "warm: resuming snapshot %s of %s (slot %s) failed, booting cold and rebuilding it: %v", snap.Name, snap.Image, snap.Slot, reason)
	if n >= m.o.MaxResumeFailures {
		m.logOnce("disabled "+spec.Key(), "warm: %d resumes of %s failed in a row: no more snapshots of it until its digest, size, shares or warm-up change", n, spec.Image)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	_ = m.remove(cctx, snap.Name)
}

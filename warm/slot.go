package warm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/tartanhq/tartan/slots"
)

// DefaultDir is the warm snapshot state directory shared by every Tartan
// process on a host (like slots.DefaultDir): builds and demand marks only
// see each other through it.
const DefaultDir = "/var/tmp/tartan-warm"

// BuildOwner is the slots.Holder Owner of a snapshot build: a tool that
// finds its slot held by it can mark demand (Want) and wait a moment.
const BuildOwner = "tartan warm snapshot build"

// SlotID is the slot name used in snapshot names for macOS slot n.
func SlotID(n int) string { return strconv.Itoa(n) }

// ErrSlotWanted: the slot is taken or a job waits for a slot; no build now.
var ErrSlotWanted = errors.New("the slot is busy or wanted by a job: no snapshot build now")

// BuildInSlot builds slot n's snapshot of spec if the slot is free and no
// job waits for a slot: it takes the slot (TryAcquireNumber), hands it to
// the build VM's tart run, and gives it up as soon as a job starts waiting
// (ErrPreempted). Call it when a job has just released slot n. bo carries
// extra tart run options (network) and Connect; its ExtraFiles, Preempt and
// OnRun are set here.
func (m *Manager) BuildInSlot(ctx context.Context, pool *slots.Pool, n int, spec Spec, bo BuildOptions) (Snapshot, error) {
	if m.Waiting() {
		return Snapshot{}, ErrSlotWanted
	}
	if _, err := m.Lookup(ctx, spec, SlotID(n)); err == nil {
		return Snapshot{}, nil // already there (zero Snapshot: nothing built)
	}
	slot, err := pool.TryAcquireNumber(slots.KindMacOS, n, slots.Holder{Owner: BuildOwner, VM: buildName(spec, SlotID(n))})
	if errors.Is(err, slots.ErrBusy) {
		return Snapshot{}, ErrSlotWanted
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("taking slot %d for a snapshot build: %w", n, err)
	}
	defer func() { _ = slot.Release() }()
	bo.ExtraFiles = []*os.File{slot.File()}
	bo.Preempt = m.Waiting
	bo.OnRun = func(pid int) { _ = slot.SetPID(pid) }
	return m.Build(ctx, spec, SlotID(n), bo)
}

package foundation

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/slots"
	"github.com/tartanhq/tartan/tart"
)

// The slot handoff end to end: the slot file goes to `tart run` through
// ExtraFiles, the caller lets go (as a GitLab prepare stage exits), the VM
// keeps the slot. SIGKILL on tart run frees both tart's VM lock and the slot,
// and nothing of the VM survives.
func TestKilledTartRunFreesVMLockAndSlot(t *testing.T) {
	w := newWorld(t)
	pool, err := slots.New(filepath.Join(t.TempDir(), "slots"), map[slots.Kind]int{slots.KindMacOS: 1})
	must.NoError(t, err)
	w.clone(macImage, "vm-a")

	slot, err := pool.Acquire(ctxFor(t, callTimeout), slots.KindMacOS, slots.Holder{Owner: "e2e", VM: "vm-a"})
	must.NoError(t, err)
	h := w.mustRun("vm-a", tart.RunOptions{NoGraphics: true, ExtraFiles: []*os.File{slot.File()}})
	must.NoError(t, slot.SetPID(h.PID))
	must.NoError(t, slot.Release())

	_, err = pool.TryAcquire(slots.KindMacOS, slots.Holder{Owner: "next"})
	var busy *slots.BusyError
	must.True(t, errors.As(err, &busy), must.Sprintf("tart run must hold the slot, got %v", err))
	must.EqOp(t, h.PID, busy.Holders[0].PID)
	must.EqOp(t, tart.StateRunning, w.vmState("vm-a"))

	must.NoError(t, syscall.Kill(h.PID, syscall.SIGKILL)) // the process only, not its group
	select {
	case <-h.Done():
	case <-time.After(callTimeout):
		t.Fatal("tart run did not die from SIGKILL")
	}

	eventually(t, 10*time.Second, "tart sees vm-a as stopped (its VM lock is free)", func() bool {
		return w.vmState("vm-a") == tart.StateStopped
	})
	var next *slots.Slot
	eventually(t, 10*time.Second, "the slot is free again", func() bool {
		next, err = pool.TryAcquire(slots.KindMacOS, slots.Holder{Owner: "next"})
		return err == nil
	})
	defer next.Release()
	if left := waitNoProcesses(w.home, 10*time.Second); len(left) > 0 {
		t.Fatalf("the killed VM left processes behind: %v", left)
	}
	// The VM lock really is free: the same VM starts again.
	w.mustRun("vm-a", tart.RunOptions{NoGraphics: true, ExtraFiles: []*os.File{next.File()}})
}

// With slots in front of tart, a third macOS job waits instead of hitting
// tart's limit error: its Acquire names the two VMs and their tart run
// PIDs, and it gets a slot as soon as one VM stops.
func TestSlotsMakeTheThirdMacOSJobWait(t *testing.T) {
	w := newWorld(t)
	pool, err := slots.New(filepath.Join(t.TempDir(), "slots"), nil)
	must.NoError(t, err)
	start := func(name string, slot *slots.Slot) *tart.RunHandle {
		t.Helper()
		h := w.mustRun(name, tart.RunOptions{NoGraphics: true, ExtraFiles: []*os.File{slot.File()}})
		must.NoError(t, slot.SetPID(h.PID))
		must.NoError(t, slot.Release())
		return h
	}
	pids := map[string]int{}
	for _, name := range []string{"job-1", "job-2"} {
		w.clone(macImage, name)
		slot, err := pool.Acquire(ctxFor(t, callTimeout), slots.KindMacOS, slots.Holder{Owner: "e2e " + name, VM: name})
		must.NoError(t, err)
		pids[name] = start(name, slot).PID
	}
	w.clone(macImage, "job-3")

	_, err = pool.Acquire(ctxFor(t, 300*time.Millisecond), slots.KindMacOS, slots.Holder{Owner: "e2e job-3", VM: "job-3"})
	var busy *slots.BusyError
	must.True(t, errors.As(err, &busy), must.Sprintf("want a BusyError, got %v", err))
	must.ErrorIs(t, err, context.DeadlineExceeded)
	must.Len(t, 2, busy.Holders)
	for _, h := range busy.Holders {
		must.EqOp(t, pids[h.VM], h.PID, must.Sprintf("holder %s", h))
	}

	must.NoError(t, w.client.Stop(ctxFor(t, callTimeout), "job-1", 5*time.Second))
	slot, err := pool.Acquire(ctxFor(t, callTimeout), slots.KindMacOS, slots.Holder{Owner: "e2e job-3", VM: "job-3"})
	must.NoError(t, err, must.Sprint("a stopped VM hands its slot on"))
	start("job-3", slot) // and tart has room for it: no limit error
}

package gitlab

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/tartanhq/tartan/tart"
)

// Cleanup stops and deletes the job's VM (success when it is already
// gone), removes the job's host dirs and record, and sweeps orphans. With
// keep_failed_vm the VM of a failed (not canceled) job is stopped and kept
// for keep_failed_for instead. Its output goes to the runner's log.
func (st *Stage) Cleanup(ctx context.Context) error {
	s, log := st.Settings, st.Log
	rec, err := loadRecord(s.StateDir, st.VM)
	if err != nil && !errors.Is(err, ErrNoState) {
		log.Warnf("%v", err)
	}
	if rec != nil && s.KeepFailedVM && rec.Failed && !rec.Canceled {
		err := st.Tart.Stop(ctx, st.VM, 30*time.Second)
		if err != nil && !errors.Is(err, tart.ErrNotRunning) && !errors.Is(err, tart.ErrVMNotFound) {
			return fmt.Errorf("stopping kept VM %s: %w", st.VM, err)
		}
		until := time.Now().Add(s.KeepFailedFor).UTC()
		if err := updateRecord(s.StateDir, st.VM, func(r *Record) { r.KeepUntil = until }); err != nil {
			return err
		}
		log.Printf("Kept VM %s of failed job %s (stopped) until %s: start it with `tart run %s`", st.VM, st.Job.ID, until.Format(time.RFC3339), st.VM)
		return nil
	}
	t := time.Now()
	stopped := rec != nil && st.stopOwnRun(ctx, rec)
	err = errNotTried
	if stopped {
		err = st.Tart.Delete(ctx, st.VM)
	}
	if err != nil && !errors.Is(err, tart.ErrVMNotFound) {
		if err := st.deleteVM(ctx, st.VM); err != nil {
			return err
		}
	}
	if err := removeJobState(s.StateDir, st.VM); err != nil {
		return fmt.Errorf("removing job dirs of %s: %w", st.VM, err)
	}
	log.Printf("Deleted VM %s in %s", st.VM, since(t))
	if s.WarmStart {
		st.warmAfterCleanup()
	}
	// No orphan sweep here: every prepare sweeps, and cleanup stays one
	// stop and one delete.
	return nil
}

var errNotTried = errors.New("not tried")

// ownRunStopWait bounds waiting for the job's tart run to exit after SIGINT
// (what `tart stop` sends); then `tart stop` takes over with its SIGKILL.
const ownRunStopWait = 3 * time.Second

// stopOwnRun stops the job's own `tart run` (recorded PID, its start time
// guarding against reuse) the way `tart stop` does, SIGINT, but watches it
// exit every 5 ms instead of tart's 100 ms lock polling. It reports whether
// tart run is gone.
func (st *Stage) stopOwnRun(ctx context.Context, rec *Record) bool {
	if rec.RunPID <= 0 || rec.RunStart == "" {
		return false
	}
	h := tart.Attach(st.VM, rec.RunPID, rec.RunLog)
	same := func() bool { s, ok := processStart(rec.RunPID); return ok && s == rec.RunStart }
	if !h.Alive() || !same() {
		return !h.Alive()
	}
	if err := syscall.Kill(rec.RunPID, syscall.SIGINT); err != nil {
		return false
	}
	deadline := time.Now().Add(ownRunStopWait)
	for h.Alive() && same() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(5 * time.Millisecond) // polling another process's exit: no channel to wait on
	}
	return true
}

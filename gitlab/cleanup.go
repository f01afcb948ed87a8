package gitlab

import (
	"context"
	"errors"
	"fmt"
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
		st.Sweep(ctx, true)
		return nil
	}
	t := time.Now()
	if err := st.deleteVM(ctx, st.VM); err != nil {
		return err
	}
	if err := removeJobState(s.StateDir, st.VM); err != nil {
		return fmt.Errorf("removing job dirs of %s: %w", st.VM, err)
	}
	log.Printf("Deleted VM %s in %s", st.VM, since(t))
	st.Sweep(ctx, true)
	return nil
}

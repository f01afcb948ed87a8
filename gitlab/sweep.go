package gitlab

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/tartanhq/tartan/tart"
)

// sweepBudget bounds one sweep so a slow tart never holds up a job.
const sweepBudget = 2 * time.Minute

// Sweep deletes orphaned VMs of this executor: VMs named with VMPrefix
// (other than this job's) whose runner process is gone and that are older
// than orphan_age, kept VMs past their time, and records without a VM.
// It never fails the stage: problems are logged.
func (st *Stage) Sweep(ctx context.Context, verbose bool) {
	s := st.Settings
	ctx, cancel := context.WithTimeout(ctx, sweepBudget)
	defer cancel()
	entries, err := st.Tart.List(ctx, tart.ListOptions{Source: "local"})
	if err != nil {
		st.Log.Warnf("Orphan sweep skipped: %v", err)
		return
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name, VMPrefix) || e.Name == st.VM {
			continue
		}
		seen[e.Name] = true
		rec, _ := loadRecord(s.StateDir, e.Name)
		why := orphanReason(rec, e, s.OrphanAge, time.Now())
		if why == "" {
			continue
		}
		if err := st.deleteVM(ctx, e.Name); err != nil {
			st.Log.Warnf("Could not delete orphaned VM %s: %v", e.Name, err)
			continue
		}
		_ = removeJobState(s.StateDir, e.Name)
		st.Log.Printf("Deleted orphaned VM %s (%s)", e.Name, why)
	}
	// Records whose VM is gone (a crash between record and clone).
	files, _ := filepath.Glob(filepath.Join(s.StateDir, "vms", VMPrefix+"*.json"))
	for _, f := range files {
		vm := strings.TrimSuffix(filepath.Base(f), ".json")
		if seen[vm] || vm == st.VM {
			continue
		}
		rec, err := loadRecord(s.StateDir, vm)
		if err != nil || ownerAlive(rec) || time.Since(rec.Created) < s.OrphanAge {
			continue
		}
		_ = removeJobState(s.StateDir, vm)
		if verbose {
			st.Log.Printf("Removed the record of VM %s (no such VM, runner gone)", vm)
		}
	}
}

// orphanReason says why a VM is an orphan, or "" when it must be left
// alone. rec may be nil (a VM of this executor from another state dir).
func orphanReason(rec *Record, e tart.VMEntry, minAge time.Duration, now time.Time) string {
	if rec == nil {
		// Without a record the owner is unknown: only a stopped VM that
		// nobody touched for orphan_age goes.
		if e.Running || e.State == tart.StateRunning || e.Accessed.IsZero() || now.Sub(e.Accessed) < minAge {
			return ""
		}
		return fmt.Sprintf("stopped, no record, untouched for %s", round(now.Sub(e.Accessed)))
	}
	if !rec.KeepUntil.IsZero() {
		if now.Before(rec.KeepUntil) {
			return ""
		}
		return "kept for debugging until " + rec.KeepUntil.Format(time.RFC3339)
	}
	if ownerAlive(rec) {
		return ""
	}
	age := now.Sub(rec.Created)
	if age < minAge {
		return ""
	}
	return fmt.Sprintf("job %s, runner pid %d is gone, age %s", rec.JobID, rec.OwnerPID, round(age))
}

// deleteVM stops and deletes a VM; a VM that is already gone is fine.
func (st *Stage) deleteVM(ctx context.Context, name string) error {
	for attempt := 0; ; attempt++ {
		err := st.Tart.Stop(ctx, name, 10*time.Second)
		if err != nil && !errors.Is(err, tart.ErrNotRunning) && !errors.Is(err, tart.ErrVMNotFound) {
			return fmt.Errorf("stopping %s: %w", name, err)
		}
		err = st.Tart.Delete(ctx, name)
		switch {
		case err == nil, errors.Is(err, tart.ErrVMNotFound):
			return nil
		case errors.Is(err, tart.ErrVMRunning) && attempt < 3:
			// Started again between stop and delete (a racing retry): stop again.
			continue
		default:
			return fmt.Errorf("deleting %s: %w", name, err)
		}
	}
}

package warm

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tartanhq/tartan/tart"
)

// evict deletes least recently used snapshots until the total cost fits
// Options.BudgetGB. keep (the snapshot just built) goes last: if it alone
// exceeds the budget it is deleted too and ErrOverBudget returned.
func (m *Manager) evict(ctx context.Context, keep string) error {
	if m.o.BudgetGB <= 0 {
		return nil
	}
	all, err := m.Snapshots()
	if err != nil {
		return err
	}
	total := 0
	for _, s := range all {
		total += s.CostGB
	}
	lastUse := func(s Snapshot) time.Time {
		if s.LastUsed.IsZero() {
			return s.BuiltAt
		}
		return s.LastUsed
	}
	sort.Slice(all, func(i, j int) bool {
		if (all[i].Name == keep) != (all[j].Name == keep) {
			return all[j].Name == keep
		}
		return lastUse(all[i]).Before(lastUse(all[j]))
	})
	for _, s := range all {
		if total <= m.o.BudgetGB {
			return nil
		}
		if s.Name == keep {
			_ = m.remove(ctx, s.Name)
			return fmt.Errorf("%w: %s needs %d GB, the budget is %d GB", ErrOverBudget, s.Name, s.CostGB, m.o.BudgetGB)
		}
		m.o.Logf("warm: evicting snapshot %s of %s (slot %s, %d GB, last used %s): over the %d GB budget",
			s.Name, s.Image, s.Slot, s.CostGB, lastUse(s).Format(time.RFC3339), m.o.BudgetGB)
		if err := m.remove(ctx, s.Name); err != nil {
			return err
		}
		total -= s.CostGB
	}
	return nil
}

// SweepOptions select what Sweep deletes besides dead builds and orphans.
type SweepOptions struct {
	// UnusedFor: snapshots not used (nor built) for this long are deleted (0 = keep).
	UnusedFor time.Duration
	// Images, when not nil, are the images still in use: snapshots of any
	// other image are deleted.
	Images []string
}

// Sweep deletes: build VMs whose builder is gone (crashed mid-build),
// Prefix VMs without metadata and metadata without a suspended VM (a crash
// between rename and metadata, or a VM deleted by hand), and the snapshots
// SweepOptions select. It returns the names deleted.
func (m *Manager) Sweep(ctx context.Context, o SweepOptions) ([]string, error) {
	vms, err := m.o.Tart.List(ctx, tart.ListOptions{Source: "local"})
	if err != nil {
		return nil, err
	}
	all, err := m.Snapshots()
	if err != nil {
		return nil, err
	}
	meta := map[string]Snapshot{}
	for _, s := range all {
		meta[s.Name] = s
	}
	var gone []string
	seen := map[string]tart.State{}
	for _, v := range vms {
		if !strings.HasPrefix(v.Name, Prefix) {
			continue
		}
		seen[v.Name] = v.State
		if slot, ok := buildSlot(v.Name); ok {
			lk, err := lockFile(m.buildLockPath(slot), false)
			if err != nil || lk == nil {
				continue // its builder is alive
			}
			if m.deleteVM(ctx, v.Name) == nil {
				gone = append(gone, v.Name)
			}
			lk.unlock()
			continue
		}
		if _, ok := meta[v.Name]; !ok && v.State != tart.StateRunning {
			// A build renames its VM before it writes the metadata: leave
			// the slot's VMs alone while its build lock is held.
			slot, ok := snapshotSlot(v.Name)
			if !ok {
				continue
			}
			lk, err := lockFile(m.buildLockPath(slot), false)
			if err != nil || lk == nil {
				continue
			}
			if m.deleteVM(ctx, v.Name) == nil {
				gone = append(gone, v.Name)
			}
			lk.unlock()
		}
	}
	keepImages := map[string]bool{}
	for _, im := range o.Images {
		keepImages[im] = true
	}
	now := m.o.Now()
	for _, s := range all {
		last := s.LastUsed
		if last.IsZero() {
			last = s.BuiltAt
		}
		var why string
		switch {
		case seen[s.Name] != tart.StateSuspended && seen[s.Name] != tart.StateRunning:
			why = "its VM is missing or not suspended"
		case o.Images != nil && !keepImages[s.Image]:
			why = "its image is no longer used"
		case o.UnusedFor > 0 && now.Sub(last) > o.UnusedFor:
			why = fmt.Sprintf("unused for %s", now.Sub(last).Round(time.Minute))
		default:
			continue
		}
		m.o.Logf("warm: deleting snapshot %s of %s (slot %s): %s", s.Name, s.Image, s.Slot, why)
		if err := m.remove(ctx, s.Name); err == nil {
			gone = append(gone, s.Name)
		}
	}
	return gone, nil
}

package tartdriver

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tartanhq/tartan/nomad/driverkit"
	"github.com/tartanhq/tartan/tart"
)

// collectGarbage runs once in the long-lived plugin process, after a grace
// period in which Nomad recovers the tasks it still knows. Every VM named
// like ours ("nomad-<alloc id>-<task>") that no task claims by then is left
// over from a task that no longer exists (a crash between clone and
// destroy, an alloc collected while the client was down): it is stopped and
// deleted.
func (d *Driver) collectGarbage(grace time.Duration) {
	if !driverkit.AfterGrace(d.ctx, grace) {
		return
	}
	n, err := d.sweep(d.ctx)
	if err != nil {
		d.logger.Warn("garbage collection of leftover VMs failed", "error", err)
		return
	}
	if n > 0 {
		d.logger.Info("garbage collection deleted leftover VMs", "count", n)
	}
}

// sweep deletes driver-made VMs that belong to no known or starting task.
func (d *Driver) sweep(ctx context.Context) (int, error) {
	_, client, _, err := d.snapshot()
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	vms, err := client.List(ctx, tart.ListOptions{Source: "local"})
	if err != nil {
		return 0, err
	}
	known := d.tasks.VMNames()
	deleted := 0
	for _, vm := range vms {
		if !strings.HasPrefix(vm.Name, vmPrefix) || known[vm.Name] {
			continue
		}
		if _, ok := allocIDFromVMName(vm.Name); !ok {
			continue
		}
		if _, starting := d.inFlight.Load(vm.Name); starting {
			continue
		}
		if err := removeVM(ctx, client, vm.Name); err != nil {
			d.logger.Warn("deleting leftover VM", "vm", vm.Name, "error", err)
			continue
		}
		d.logger.Info("deleted leftover VM", "vm", vm.Name, "running", vm.Running)
		deleted++
	}
	d.sweepRecords(known)
	return deleted, nil
}

// sweepRecords removes task records (see record.go) of tasks no longer
// known: their VM is gone, and a record holds credentials.
func (d *Driver) sweepRecords(known map[string]bool) {
	pc, _, _, err := d.snapshot()
	if err != nil {
		return
	}
	paths, _ := filepath.Glob(filepath.Join(tartHome(pc), recordDirName, "*.json"))
	for _, p := range paths {
		vm := strings.TrimSuffix(filepath.Base(p), ".json")
		if _, starting := d.inFlight.Load(vm); known[vm] || starting {
			continue
		}
		if err := os.Remove(p); err == nil {
			d.logger.Info("deleted the task record of a task that no longer exists", "vm", vm)
		}
	}
}

package containerdriver

import (
	"context"
	"time"

	"github.com/tartanhq/tartan/nomad/driverkit"
)

// collectGarbage runs once in the long-lived plugin process (gc.container),
// after a grace period in which Nomad recovers the tasks it still knows.
// Every container with the driver's labels that no task claims by then is
// left over from an allocation that no longer exists here (a crash between
// create and destroy, an alloc collected while the client was down): it is
// deleted.
func (d *Driver) collectGarbage(grace time.Duration) {
	if !driverkit.AfterGrace(d.ctx, grace) {
		return
	}
	n, err := d.sweep(d.ctx)
	if err != nil {
		d.logger.Warn("orphan sweep of leftover containers failed", "error", err)
		return
	}
	if n > 0 {
		d.logger.Info("orphan sweep deleted leftover containers", "count", n)
	}
}

// sweep deletes the driver's containers that belong to no known or
// starting task.
func (d *Driver) sweep(ctx context.Context) (int, error) {
	_, client, err := d.snapshot()
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	all, err := client.List(ctx, true)
	if err != nil {
		return 0, err
	}
	known := map[string]bool{}
	for _, h := range d.tasks.All() {
		known[h.state.ContainerID] = true
	}
	deleted := 0
	for _, c := range all {
		if c.Labels[labelDriver] != PluginName || c.Labels[labelAllocID] == "" || known[c.ID] {
			continue
		}
		if _, starting := d.inFlight.Load(c.ID); starting {
			continue
		}
		if err := client.Delete(ctx, c.ID, true); err != nil {
			d.logger.Warn("deleting leftover container", "container", c.ID, "error", err)
			continue
		}
		d.logger.Info("deleted leftover container", "container", c.ID, "alloc", c.Labels[labelAllocID], "state", c.State)
		deleted++
	}
	return deleted, nil
}

package containerdriver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/tartanhq/tartan/supervisor"
)

// RecoverTask reattaches to a task after a plugin crash or a client
// restart. Nothing is restarted: the supervisor (in its own session) kept
// the attached CLI, and with it the container's output and exit code. When
// the supervisor is gone too, the watcher follows the container through
// `container inspect`.
func (d *Driver) RecoverTask(handle *drivers.TaskHandle) error {
	if handle == nil || handle.Config == nil {
		return errors.New("RecoverTask: empty task handle")
	}
	if _, ok := d.tasks.Get(handle.Config.ID); ok {
		return nil
	}
	if handle.Version != taskHandleVersion {
		d.removeLegacyContainer(handle.Config)
		return fmt.Errorf("RecoverTask: task handle version %d is not %d (written by another driver version)", handle.Version, taskHandleVersion)
	}
	var st TaskState
	if err := handle.GetDriverState(&st); err != nil {
		return fmt.Errorf("RecoverTask: decoding driver state: %w", err)
	}
	if st.ContainerID == "" || st.StateDir == "" {
		d.removeLegacyContainer(handle.Config)
		return errors.New("RecoverTask: driver state names no container (a task of another driver version; Nomad restarts it)")
	}
	if _, _, err := d.snapshot(); err != nil {
		return fmt.Errorf("RecoverTask: %w", err)
	}
	h := newTaskHandle(d.logger.With("task", handle.Config.Name, "container", st.ContainerID), handle.Config, st)
	d.track(h)
	d.logger.Info("recovered task", "task", handle.Config.Name, "container", st.ContainerID,
		"supervisor_alive", supervisor.Alive(st.StateDir))
	return nil
}

// removeLegacyContainer deletes the container the earlier community driver
// ran for this task ("nomad-<task>-<first 8 of the alloc ID>", no labels
// of ours), whose handle this driver cannot adopt: Nomad restarts the task
// with this driver next, and the old container must not keep running (or
// hold its published ports) beside the new one.
func (d *Driver) removeLegacyContainer(cfg *drivers.TaskConfig) {
	_, client, err := d.snapshot()
	if err != nil || len(cfg.AllocID) < 8 {
		return
	}
	ctx, cancel := context.WithTimeout(d.ctx, time.Minute)
	defer cancel()
	all, err := client.List(ctx, true)
	if err != nil {
		return
	}
	suffix := "-" + cfg.AllocID[:8]
	for _, c := range all {
		if c.Labels[labelDriver] != "" || !strings.HasPrefix(c.ID, "nomad-") || !strings.HasSuffix(c.ID, suffix) {
			continue
		}
		task := strings.TrimSuffix(strings.TrimPrefix(c.ID, "nomad-"), suffix)
		if !strings.EqualFold(task, cfg.Name) && task != legacyTaskPart(cfg.Name) {
			continue
		}
		if err := client.Delete(ctx, c.ID, true); err != nil {
			d.logger.Warn("deleting the earlier driver's container of a task", "container", c.ID, "error", err)
			continue
		}
		d.logger.Info("deleted the earlier driver's container; Nomad restarts the task with this driver", "container", c.ID, "task", cfg.Name)
	}
}

// legacyTaskPart is the earlier driver's sanitising of a task name: what
// is not a letter, digit, '_' or '-' became '-'.
func legacyTaskPart(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '-'
	}, name)
}

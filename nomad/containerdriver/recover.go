package containerdriver

import (
	"errors"
	"fmt"

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
		return fmt.Errorf("RecoverTask: task handle version %d is not %d (written by another driver version)", handle.Version, taskHandleVersion)
	}
	var st TaskState
	if err := handle.GetDriverState(&st); err != nil {
		return fmt.Errorf("RecoverTask: decoding driver state: %w", err)
	}
	if st.ContainerID == "" || st.StateDir == "" {
		return errors.New("RecoverTask: driver state names no container")
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

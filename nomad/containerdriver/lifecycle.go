package containerdriver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/tartanhq/tartan/applecontainer"
	"github.com/tartanhq/tartan/nomad/driverkit"
	"github.com/tartanhq/tartan/supervisor"
)

// Bounds of the calls that end a container.
const (
	killWait       = 30 * time.Second // `container kill` and the supervisor's record after it
	exitRecordWait = 10 * time.Second // the supervisor's exit.json after the container stopped
)

// WaitTask returns a channel that gets the task's result: the container's
// exit code as the attached CLI reported it.
func (d *Driver) WaitTask(ctx context.Context, taskID string) (<-chan *drivers.ExitResult, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, drivers.ErrTaskNotFound
	}
	return driverkit.WaitResult(ctx, d.ctx.Done(), h.done, func() *drivers.ExitResult {
		h.mu.RLock()
		defer h.mu.RUnlock()
		return h.exit.Copy()
	}), nil
}

// StopTask honours kill_signal and kill_timeout with `container stop
// --signal --time` (which kills after the timeout), then makes sure with
// `container kill`. The task's state stays for DestroyTask.
func (d *Driver) StopTask(taskID string, timeout time.Duration, signal string) error {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return drivers.ErrTaskNotFound
	}
	if !h.isRunning() {
		return nil
	}
	_, client, err := d.snapshot()
	if err != nil {
		return err
	}
	h.killed.Store(true)
	ctx, cancel := context.WithTimeout(d.ctx, timeout+killWait)
	defer cancel()
	err = client.Stop(ctx, h.state.ContainerID, applecontainer.StopOptions{Signal: signal, Timeout: timeout})
	if err != nil && !errors.Is(err, applecontainer.ErrNotFound) {
		h.logger.Warn("container stop failed; killing it", "error", err)
	}
	if h.waitDone(exitRecordWait) {
		return nil
	}
	kctx, kcancel := context.WithTimeout(d.ctx, killWait)
	defer kcancel()
	if err := client.Kill(kctx, h.state.ContainerID, "KILL"); err != nil &&
		!errors.Is(err, applecontainer.ErrNotRunning) && !errors.Is(err, applecontainer.ErrNotFound) {
		return fmt.Errorf("killing container %s: %w", h.state.ContainerID, err)
	}
	h.waitDone(exitRecordWait)
	return nil
}

// waitDone waits up to d for the task's result.
func (h *taskHandle) waitDone(d time.Duration) bool {
	select {
	case <-h.done:
		return true
	case <-time.After(d):
		return false
	}
}

// DestroyTask removes the container (when gc.container), ends the
// supervisor, removes the driver's files and forgets the task. It is
// idempotent and succeeds when the container is already gone.
func (d *Driver) DestroyTask(taskID string, force bool) error {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return drivers.ErrTaskNotFound
	}
	if h.isRunning() && !force {
		return fmt.Errorf("task %s is still running; stop it first or destroy with force", taskID)
	}
	pc, client, err := d.snapshot()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(d.ctx, 2*time.Minute)
	defer cancel()
	if h.isRunning() {
		h.killed.Store(true)
		if err := client.Kill(ctx, h.state.ContainerID, "KILL"); err != nil &&
			!errors.Is(err, applecontainer.ErrNotRunning) && !errors.Is(err, applecontainer.ErrNotFound) {
			h.logger.Warn("killing the container on destroy", "error", err)
		}
	}
	if pc.GC.Container {
		if err := client.Delete(ctx, h.state.ContainerID, true); err != nil && !errors.Is(err, applecontainer.ErrNotFound) {
			return fmt.Errorf("deleting container %s: %w", h.state.ContainerID, err)
		}
	}
	h.stopWatching()
	h.stats.stop()
	supervisor.Stop(h.state.StateDir, 5*time.Second)
	_ = os.RemoveAll(h.state.StateDir)
	d.tasks.Delete(taskID)
	return nil
}

// InspectTask reports the task's status without calling the CLI.
func (d *Driver) InspectTask(taskID string) (*drivers.TaskStatus, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, drivers.ErrTaskNotFound
	}
	return h.status(), nil
}

// SignalTask sends a signal to the container's init process with
// `container kill --signal`.
func (d *Driver) SignalTask(taskID string, signal string) error {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return drivers.ErrTaskNotFound
	}
	if !h.isRunning() {
		return fmt.Errorf("task %s is not running", taskID)
	}
	_, client, err := d.snapshot()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(d.ctx, killWait)
	defer cancel()
	if err := client.Kill(ctx, h.state.ContainerID, signal); err != nil {
		return fmt.Errorf("sending %s to container %s: %w", signal, h.state.ContainerID, err)
	}
	return nil
}

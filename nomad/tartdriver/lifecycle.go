package tartdriver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/tartanhq/tartan/nomad/driverkit"
	"github.com/tartanhq/tartan/supervisor"
	"github.com/tartanhq/tartan/tart"
)

// vmStopTimeout is how long `tart stop` waits for the VM before SIGKILL.
const vmStopTimeout = 10 * time.Second

// bootStopGrace caps the guest shutdown wait of a VM-only task stopped
// while it boots.
const bootStopGrace = 5 * time.Second

// WaitTask returns a channel that gets the task's result: the guest
// command's exit code or signal, or (without a command) the VM's end.
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

// StopTask honours kill_signal and kill_timeout. With a command, the signal
// goes to the guest command (default SIGTERM); without one, the guest OS is
// asked to shut down (tart's SIGUSR2). Either way the VM is stopped after the
// timeout. The task's state stays for DestroyTask.
func (d *Driver) StopTask(taskID string, timeout time.Duration, signal string) error {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return drivers.ErrTaskNotFound
	}
	if !h.isRunning() {
		return nil
	}
	h.stopRequested.Store(true)
	if h.abortBoot() {
		// Stopped while the VM boots: nothing runs in the guest yet, so
		// the stop must not wait out the boot. A command task's VM is
		// powered off at once; a VM-only task's guest gets a short chance
		// to shut down (it may be far enough to honour the request).
		d.emit(h.cfg, "Stopping the VM while it boots", nil)
		if h.state.HasCommand {
			return d.stopVM(h)
		}
		timeout = min(timeout, bootStopGrace)
	}
	if h.state.HasCommand {
		if signal == "" {
			signal = "SIGTERM"
		}
		if err := supervisor.Signal(h.state.StateDir, signal); err != nil && !errors.Is(err, supervisor.ErrNotRunning) {
			h.logger.Warn("forwarding stop signal", "signal", signal, "error", err)
		}
	} else {
		// SIGUSR2 makes tart ask the guest OS to power off.
		if err := syscall.Kill(h.state.RunPID, syscall.SIGUSR2); err != nil && h.run.Alive() {
			h.logger.Warn("requesting guest shutdown", "error", err)
		}
	}
	select {
	case <-h.done:
	case <-time.After(timeout):
	}
	return d.stopVM(h)
}

// stopVM powers the VM off (a no-op when it is gone already).
func (d *Driver) stopVM(h *taskHandle) error {
	_, client, _, err := d.snapshot()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(d.ctx, vmStopTimeout+10*time.Second)
	defer cancel()
	if h.isRunning() {
		h.killed.Store(true)
	}
	err = client.Stop(ctx, h.state.VMName, vmStopTimeout)
	if err != nil && !errors.Is(err, tart.ErrNotRunning) && !errors.Is(err, tart.ErrVMNotFound) {
		return fmt.Errorf("stopping VM %s: %w", h.state.VMName, err)
	}
	// The command's transport dies with the VM; give the supervisor a moment
	// to record that, so WaitTask reports how the command ended.
	deadline := time.Now().Add(5 * time.Second)
	for h.state.HasCommand && supervisor.Alive(h.state.StateDir) && time.Now().Before(deadline) {
		time.Sleep(watchInterval)
	}
	return nil
}

// DestroyTask deletes the VM and forgets the task. It is idempotent and
// succeeds when the VM is already gone.
func (d *Driver) DestroyTask(taskID string, force bool) error {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return drivers.ErrTaskNotFound
	}
	if h.isRunning() && !force {
		return fmt.Errorf("task %s is still running; stop it first or destroy with force", taskID)
	}
	_, client, _, err := d.snapshot()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(d.ctx, 2*time.Minute)
	defer cancel()
	h.abortBoot()
	if h.state.HasCommand && supervisor.Alive(h.state.StateDir) {
		_ = supervisor.Signal(h.state.StateDir, "KILL")
	}
	if err := removeVM(ctx, client, h.state.VMName); err != nil {
		return err
	}
	h.stopWatching()
	killSupervisor(h)
	if h.state.RecordPath != "" {
		if err := os.Remove(h.state.RecordPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			h.logger.Warn("removing the task record", "error", err)
		}
	}
	d.tasks.Delete(taskID)
	if wt, ok := warmTasks.LoadAndDelete(taskID); ok {
		if _, _, pool, err := d.snapshot(); err == nil {
			d.buildAfter(pool, wt.(*warmTask)) // the slot is free now: refresh its snapshot
		}
	}
	return nil
}

// killSupervisor ends a supervisor that survived its VM (it would notice the
// lost connection or the VM's end itself; this makes destroy deterministic).
func killSupervisor(h *taskHandle) {
	if h.state.HasCommand || h.state.LogFollower {
		stopSupervisor(h.state.StateDir)
	}
}

// InspectTask reports the task's status without touching tart.
func (d *Driver) InspectTask(taskID string) (*drivers.TaskStatus, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, drivers.ErrTaskNotFound
	}
	return h.status(), nil
}

// SignalTask forwards a signal to the guest command; without a command it
// goes to `tart run` (SIGUSR2 = guest shutdown request, SIGINT = stop).
func (d *Driver) SignalTask(taskID string, signal string) error {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return drivers.ErrTaskNotFound
	}
	if h.booting() {
		return fmt.Errorf("task %s is still booting its VM: nothing runs in the guest yet to receive %s; retry once the task event says the VM is running", taskID, signal)
	}
	if !h.state.HasCommand && signal == "SIGUSR1" && (h.settings == nil || !h.settings.Run.Suspendable) {
		// tart run takes SIGUSR1 as "suspend", which fails for a VM not
		// started suspendable and loses the VM.
		return fmt.Errorf("%w: SIGUSR1 to a VM-only task means `tart suspend`, and this VM was not started with suspendable = true; use SIGUSR2 to ask the guest to shut down, or set suspendable = true in the task config", ErrSignalRefused)
	}
	if h.state.HasCommand {
		if !supervisor.KnownSignal(signal) {
			return fmt.Errorf("signal %q cannot be forwarded to the guest (supported: SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGKILL, SIGUSR1, SIGUSR2, SIGALRM, SIGABRT, SIGPIPE)", signal)
		}
		return supervisor.Signal(h.state.StateDir, signal)
	}
	sig, ok := hostSignals[signal]
	if !ok {
		return fmt.Errorf("unknown signal %q", signal)
	}
	return syscall.Kill(h.state.RunPID, sig)
}

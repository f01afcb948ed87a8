package tartdriver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/tartanhq/tartan/tart"
)

// RecoverTask reattaches to a task after a plugin crash or a client
// restart. Nothing is restarted: the VM (`tart run` in its own session) and
// the supervisor of the guest command kept running without the plugin.
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
	if st.VMName == "" || st.StateDir == "" {
		return errors.New("RecoverTask: driver state names no VM")
	}
	pc, client, _, err := d.snapshot()
	if err != nil {
		return fmt.Errorf("RecoverTask: %w", err)
	}
	s, ip := d.recoveredSettings(handle, pc, st)
	if st.IP == "" {
		st.IP = ip
	}
	run := tart.Attach(st.VMName, st.RunPID, st.RunLogPath)
	h := newTaskHandle(d.logger.With("task", handle.Config.Name, "vm", st.VMName), handle.Config, s, st, run)
	// A recycled PID must not pass for the VM: ask tart too.
	ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
	defer cancel()
	if info, err := client.Get(ctx, st.VMName); errors.Is(err, tart.ErrVMNotFound) || (err == nil && !info.Running) {
		h.vmGone = true
	}
	if !h.vmGone && s != nil && needsBoot(st, s) {
		// The plugin died while the VM booted: finish the boot here.
		d.logger.Info("resuming the boot of a recovered task", "task", handle.Config.Name, "vm", st.VMName)
		(&bootJob{d: d, client: client, tartHome: pc.TartHome, cfg: handle.Config, s: s, h: h}).start()
	}
	d.tasks.Set(handle.Config.ID, h)
	go h.watch(d.ctx)
	d.logger.Info("recovered task", "task", handle.Config.Name, "vm", st.VMName, "vm_alive", !h.vmGone)
	return nil
}

// recoveredSettings are what exec, signals and a resumed boot need. After
// a client restart Nomad does not hand back the raw driver config, so the
// driver's own record comes first; the config is the fallback for tasks
// started by a driver version that kept no record.
func (d *Driver) recoveredSettings(handle *drivers.TaskHandle, pc *PluginConfig, st TaskState) (*taskSettings, string) {
	rec, err := readRecord(st.RecordPath)
	if err == nil {
		return rec.settings(), rec.IP
	}
	if !errors.Is(err, errNoRecord) {
		d.logger.Warn("reading the task record", "task", handle.Config.Name, "error", err)
	}
	var tc TaskConfig
	if err := handle.Config.DecodeDriverConfig(&tc); err != nil {
		d.logger.Warn("recovered task has neither a task record nor a readable config; exec disabled", "task", handle.Config.Name)
		return nil, ""
	}
	s, err := resolveIn(&tc, pc, handle.Config.TaskDir().Dir)
	if err != nil {
		// The plugin config may have changed (e.g. an image now denied):
		// that must not kill a running workload, only exec is lost.
		d.logger.Warn("recovered task's config no longer validates; exec disabled", "task", handle.Config.Name, "error", err)
		return nil, ""
	}
	return s, ""
}

// needsBoot: the task's boot had not finished when its plugin went away.
func needsBoot(st TaskState, s *taskSettings) bool {
	if st.IP == "" {
		return true
	}
	return s.Command != nil && !commandStarted(st.StateDir)
}

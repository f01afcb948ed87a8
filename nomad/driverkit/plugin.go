package driverkit

import (
	"runtime"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/client/lib/cpustats"
	"github.com/hashicorp/nomad/client/lib/numalib/hw"
	"github.com/hashicorp/nomad/drivers/shared/eventer"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
)

// PluginInfo is the identity a driver plugin reports to Nomad.
func PluginInfo(name, version string) *base.PluginInfoResponse {
	return &base.PluginInfoResponse{
		Type:              base.PluginTypeDriver,
		PluginApiVersions: []string{drivers.ApiVersion010},
		PluginVersion:     version,
		Name:              name,
	}
}

// Emit sends a task event now; a failure to emit is only logged (at debug:
// events are informational).
func Emit(ev *eventer.Eventer, logger hclog.Logger, cfg *drivers.TaskConfig, msg string, annotations map[string]string) {
	if err := ev.EmitEvent(&drivers.TaskEvent{
		TaskID: cfg.ID, TaskName: cfg.Name, AllocID: cfg.AllocID,
		Timestamp: time.Now(), Message: msg, Annotations: annotations,
	}); err != nil {
		logger.Debug("emitting event", "error", err)
	}
}

// HostCompute is the node's total MHz and core count as the agent sees
// them: with no agent config (a validation instance) 0 MHz and this host's
// CPU count.
func HostCompute(agent *base.AgentConfig) (int64, int) {
	cores := runtime.NumCPU()
	if agent == nil {
		return 0, cores
	}
	c := agent.Compute()
	if c.NumCores > 0 {
		cores = c.NumCores
	}
	return int64(c.TotalCompute), cores
}

// CPUCompute is what cpustats trackers need to turn CPU time into ticks
// (an unknown, negative total counts as 0 MHz).
func CPUCompute(totalMHz int64, cores int) cpustats.Compute {
	return cpustats.Compute{TotalCompute: hw.MHz(max(totalMHz, 0)), NumCores: cores}
}

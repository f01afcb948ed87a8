package tartdriver

import (
	"context"
	"time"

	"github.com/hashicorp/nomad/client/lib/cpustats"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/shirou/gopsutil/v3/process"
	"github.com/tartanhq/tartan/nomad/driverkit"
)

// Measured fields. These are readings of the host side of the VM: the
// `tart run` process tree (on Linux with tart-sim that is the whole guest).
// On macOS, Virtualization.framework runs the guest in an XPC service that
// is not a child of tart run, so guest memory is NOT included there; the
// docs say so. Nothing else (cache, swap, throttling) is claimed.
var (
	measuredMemory = []string{"RSS"}
	measuredCPU    = []string{"System Mode", "User Mode", "Percent"}
)

// TaskStats emits CPU and memory of the VM's host process tree every interval.
func (d *Driver) TaskStats(ctx context.Context, taskID string, interval time.Duration) (<-chan *drivers.TaskResourceUsage, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, drivers.ErrTaskNotFound
	}
	totalMHz, cores := d.hostCompute()
	compute := driverkit.CPUCompute(totalMHz, cores)
	st := &statsSampler{pid: int32(h.state.RunPID), total: cpustats.New(compute), user: cpustats.New(compute), system: cpustats.New(compute)}
	// A sample waiting for its reader is still delivered after the task ended.
	return driverkit.Periodic(ctx, interval, h.done, nil, func() (*drivers.TaskResourceUsage, bool) {
		u := st.sample()
		return u, u != nil
	}), nil
}

type statsSampler struct {
	pid                 int32
	total, user, system *cpustats.Tracker
}

// sample sums RSS and CPU time over the process and its descendants.
func (s *statsSampler) sample() *drivers.TaskResourceUsage {
	root, err := process.NewProcess(s.pid)
	if err != nil {
		return nil
	}
	var rss uint64
	var user, system float64
	var walk func(p *process.Process, depth int)
	walk = func(p *process.Process, depth int) {
		if mi, err := p.MemoryInfo(); err == nil {
			rss += mi.RSS
		}
		if ct, err := p.Times(); err == nil {
			user += ct.User
			system += ct.System
		}
		if depth > 8 {
			return
		}
		kids, _ := p.Children()
		for _, k := range kids {
			walk(k, depth+1)
		}
	}
	walk(root, 0)
	const nsPerSec = 1e9
	cpu := &drivers.CpuStats{
		UserMode:   s.user.Percent(user * nsPerSec),
		SystemMode: s.system.Percent(system * nsPerSec),
		Percent:    s.total.Percent((user + system) * nsPerSec),
		Measured:   measuredCPU,
	}
	cpu.TotalTicks = s.total.TicksConsumed(cpu.Percent)
	return &drivers.TaskResourceUsage{
		ResourceUsage: &drivers.ResourceUsage{
			MemoryStats: &drivers.MemoryStats{RSS: rss, Measured: measuredMemory},
			CpuStats:    cpu,
		},
		Timestamp: time.Now().UnixNano(),
	}
}

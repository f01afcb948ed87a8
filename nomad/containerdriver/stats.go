package containerdriver

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/nomad/client/lib/cpustats"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/tartanhq/tartan/applecontainer"
	"github.com/tartanhq/tartan/nomad/driverkit"
)

// What `container stats` measures: the VM's memory use and cumulative CPU
// time. Nothing else (cache, swap, user/system split) is claimed.
var (
	measuredMemory = []string{"RSS", "Usage"}
	measuredCPU    = []string{"Percent", "Total Ticks"}
)

// statsRetry is the pause after a failed sample (the container may be
// booting or stopping).
const statsRetry = 2 * time.Second

// statsSampler keeps the latest sample of one task. `container stats`
// takes at least 2 s per call, so it runs in its own goroutine (started by
// the first TaskStats call) and TaskStats only reads the last sample.
type statsSampler struct {
	d *Driver
	h *taskHandle

	once   sync.Once
	cancel context.CancelFunc

	mu      sync.Mutex
	last    *drivers.TaskResourceUsage
	prevCPU uint64
	prevAt  time.Time
	ticks   *cpustats.Tracker
}

func newStatsSampler(d *Driver, h *taskHandle) *statsSampler {
	totalMHz, cores := d.hostCompute()
	compute := driverkit.CPUCompute(totalMHz, cores)
	return &statsSampler{d: d, h: h, ticks: cpustats.New(compute), cancel: func() {}}
}

// start begins sampling once.
func (s *statsSampler) start() {
	s.once.Do(func() {
		ctx, cancel := context.WithCancel(s.d.ctx)
		s.mu.Lock()
		s.cancel = cancel
		s.mu.Unlock()
		go s.loop(ctx)
	})
}

func (s *statsSampler) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cancel()
}

func (s *statsSampler) loop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.h.done:
			return
		default:
		}
		if !s.sampleOnce(ctx) {
			select {
			case <-ctx.Done():
				return
			case <-s.h.done:
				return
			case <-time.After(statsRetry):
			}
		}
	}
}

// sampleOnce takes one sample (≥2 s) and reports whether it got one.
func (s *statsSampler) sampleOnce(ctx context.Context) bool {
	_, client, err := s.d.snapshot()
	if err != nil {
		return false
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stats, err := client.Stats(cctx, s.h.state.ContainerID)
	if err != nil || len(stats) == 0 {
		return false
	}
	s.record(stats[0], time.Now())
	return true
}

// record turns a sample into Nomad's usage: memory as reported, CPU % from
// the growth of cpuUsageUsec since the previous sample (100 % = one core).
func (s *statsSampler) record(st applecontainer.Stats, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := &drivers.TaskResourceUsage{ResourceUsage: &drivers.ResourceUsage{
		MemoryStats: &drivers.MemoryStats{}, CpuStats: &drivers.CpuStats{}}, Timestamp: at.UnixNano()}
	if st.MemoryUsageBytes != nil {
		u.ResourceUsage.MemoryStats.RSS = *st.MemoryUsageBytes
		u.ResourceUsage.MemoryStats.Usage = *st.MemoryUsageBytes
		u.ResourceUsage.MemoryStats.Measured = measuredMemory
	}
	if st.CPUUsageUsec != nil {
		cpu := *st.CPUUsageUsec
		if !s.prevAt.IsZero() && cpu >= s.prevCPU && at.After(s.prevAt) {
			elapsed := float64(at.Sub(s.prevAt).Microseconds())
			pct := float64(cpu-s.prevCPU) / elapsed * 100
			u.ResourceUsage.CpuStats.Percent = pct
			u.ResourceUsage.CpuStats.TotalTicks = s.ticks.TicksConsumed(pct)
			u.ResourceUsage.CpuStats.Measured = measuredCPU
		}
		s.prevCPU, s.prevAt = cpu, at
	}
	s.last = u
}

func (s *statsSampler) latest() *drivers.TaskResourceUsage {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		return nil
	}
	c := *s.last
	return &c
}

// TaskStats emits the latest sample every interval without waiting for
// the CLI.
func (d *Driver) TaskStats(ctx context.Context, taskID string, interval time.Duration) (<-chan *drivers.TaskResourceUsage, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, drivers.ErrTaskNotFound
	}
	h.stats.start()
	// A sample waiting for its reader is still delivered after the task ended.
	return driverkit.Periodic(ctx, interval, h.done, nil, func() (*drivers.TaskResourceUsage, bool) {
		u := h.stats.latest()
		return u, u != nil
	}), nil
}

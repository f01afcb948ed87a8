package driverkit

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/hashicorp/nomad/client/lib/numalib/hw"
	"github.com/hashicorp/nomad/drivers/shared/eventer"
	"github.com/hashicorp/nomad/helper/testlog"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/shoenig/test/must"
)

func TestPluginInfo(t *testing.T) {
	info := PluginInfo("demo", "1.2.3")
	must.Eq(t, base.PluginTypeDriver, info.Type)
	must.Eq(t, []string{drivers.ApiVersion010}, info.PluginApiVersions)
	must.Eq(t, "1.2.3", info.PluginVersion)
	must.Eq(t, "demo", info.Name)
}

func TestEmitReachesSubscriber(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := testlog.HCLogger(t)
	ev := eventer.NewEventer(ctx, logger)
	events, err := ev.TaskEvents(ctx)
	must.NoError(t, err)
	cfg := &drivers.TaskConfig{ID: "task-1", Name: "web", AllocID: "alloc-1"}
	Emit(ev, logger, cfg, "Pulling image", map[string]string{"image": "busybox"})
	select {
	case e := <-events:
		must.Eq(t, "task-1", e.TaskID)
		must.Eq(t, "web", e.TaskName)
		must.Eq(t, "alloc-1", e.AllocID)
		must.Eq(t, "Pulling image", e.Message)
		must.Eq(t, map[string]string{"image": "busybox"}, e.Annotations)
		must.False(t, e.Timestamp.IsZero())
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
}

func TestHostComputeWithoutAgentConfig(t *testing.T) {
	mhz, cores := HostCompute(nil)
	must.Eq(t, int64(0), mhz)
	must.Eq(t, runtime.NumCPU(), cores)
	// An agent config without topology: still this host's cores.
	mhz, cores = HostCompute(&base.AgentConfig{})
	must.Eq(t, int64(0), mhz)
	must.Eq(t, runtime.NumCPU(), cores)
}

func TestCPUCompute(t *testing.T) {
	c := CPUCompute(2400, 4)
	must.Eq(t, hw.MHz(2400), c.TotalCompute)
	must.Eq(t, 4, c.NumCores)
	must.Eq(t, hw.MHz(0), CPUCompute(-1, 2).TotalCompute)
}

func TestOptionMessage(t *testing.T) {
	must.Eq(t, `config option "auth": needs both username and password`, OptionMessage("auth", "", "needs both username and password"))
	must.Eq(t, `config option "gc_grace" = "soon": not a duration`, OptionMessage("gc_grace", "soon", "not a duration"))
}

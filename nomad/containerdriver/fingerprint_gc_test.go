package containerdriver

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/applecontainer"
)

func firstFingerprint(t *testing.T, d *Driver) *drivers.Fingerprint {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := d.Fingerprint(ctx)
	must.NoError(t, err)
	select {
	case fp := <-ch:
		return fp
	case <-time.After(time.Minute):
		t.Fatal("no fingerprint")
		return nil
	}
}

// TestFingerprint_HealthFollowsTheAPIServer: healthy with the version
// attributes while the apiserver runs; unhealthy, saying what to run, when
// it does not; undetected without a CLI.
func TestFingerprint_HealthFollowsTheAPIServer(t *testing.T) {
	e := newTestEnv(t)
	_, d := e.newHarness(e.pluginConfig())
	fp := firstFingerprint(t, d)
	must.Eq(t, drivers.HealthStateHealthy, fp.Health, must.Sprint(fp.HealthDescription))
	v, ok := fp.Attributes["driver.container.version"].GetString()
	must.True(t, ok)
	must.Eq(t, "1.2.2", v)
	api, ok := fp.Attributes["driver.container.apiserver_version"].GetString()
	must.True(t, ok)
	must.StrContains(t, api, "1.2.2")

	e.cli("system", "stop")
	fp = firstFingerprint(t, d)
	must.Eq(t, drivers.HealthStateUnhealthy, fp.Health)
	must.StrContains(t, fp.HealthDescription, "container system start")
	e.cli("system", "start", "--enable-kernel-install")

	pc := e.pluginConfig()
	pc.ContainerPath = "/nonexistent/container"
	_, d2 := e.newHarness(pc)
	fp = firstFingerprint(t, d2)
	must.Eq(t, drivers.HealthStateUndetected, fp.Health)
	must.StrContains(t, fp.HealthDescription, "container_path")
}

// TestSweep_DeletesOnlyOrphansOfTheDriver: after the grace period the
// driver's containers that no task claims are deleted; its tasks'
// containers and containers it did not make stay.
func TestSweep_DeletesOnlyOrphansOfTheDriver(t *testing.T) {
	e := newTestEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	orphan, err := e.client.Create(ctx, applecontainer.RunOptions{Name: "web-0b6f8d64-9a43-4c1e-8f7a-2a1d5e6f7a8b", Image: busybox,
		Args: []string{"sleep", "300"}, Labels: map[string]string{labelDriver: PluginName, labelAllocID: "0b6f8d64-9a43-4c1e-8f7a-2a1d5e6f7a8b", labelTaskName: "web"}})
	must.NoError(t, err)
	must.NoError(t, e.client.Start(ctx, orphan))
	foreign, err := e.client.Create(ctx, applecontainer.RunOptions{Name: "someone-elses", Image: busybox, Args: []string{"true"}})
	must.NoError(t, err)
	t.Cleanup(func() { _ = e.client.Delete(context.Background(), foreign, true) })

	pc := e.pluginConfig()
	pc.GCGrace = "1s"
	h, _ := e.newHarness(pc)
	task := newTask(t, "mine", TaskConfig{Command: "sleep", Args: []string{"300"}})
	mkAllocDir(t, h, task, false)
	handle := start(t, h, task)
	eventually(t, 30*time.Second, "the orphan to be swept", func() bool { return !e.containerExists(orphan) })
	must.True(t, e.containerExists(containerOf(t, handle)))
	must.True(t, e.containerExists(foreign))
	must.NoError(t, h.StopTask(task.ID, time.Second, ""))
	waitExit(t, h, task.ID, 30*time.Second)
}

// TestStats_MeasuredWithoutBlocking: TaskStats answers from the latest
// sample; the first arrives after one `container stats` call.
func TestStats_MeasuredWithoutBlocking(t *testing.T) {
	e := newTestEnv(t, "CONTAINER_SIM_STATS_INTERVAL=200ms")
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "busy", TaskConfig{Command: "sh", Args: []string{"-c", "while true; do :; done"}})
	mkAllocDir(t, h, task, false)
	start(t, h, task)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := h.TaskStats(ctx, task.ID, 100*time.Millisecond)
	must.NoError(t, err)
	var got *drivers.TaskResourceUsage
	deadline := time.After(30 * time.Second)
	for got == nil || got.ResourceUsage.CpuStats.Percent == 0 {
		select {
		case got = <-ch:
		case <-deadline:
			t.Fatalf("no CPU sample in 30 s (last %+v)", got)
		}
	}
	must.Positive(t, got.ResourceUsage.MemoryStats.RSS)
	must.SliceContains(t, got.ResourceUsage.MemoryStats.Measured, "RSS")
	must.Greater(t, 10.0, got.ResourceUsage.CpuStats.Percent) // a busy loop: most of a core
	must.SliceContains(t, got.ResourceUsage.CpuStats.Measured, "Percent")
	cancel()
	must.NoError(t, h.StopTask(task.ID, time.Second, ""))
	waitExit(t, h, task.ID, 30*time.Second)
}

// TestFingerprint_OldCLIIsUnhealthy: a CLI before 1.0.0 (other JSON shapes
// and error semantics) is reported with its version and the one needed.
func TestFingerprint_OldCLIIsUnhealthy(t *testing.T) {
	e := newTestEnv(t, "CONTAINER_SIM_VERSION=0.12.3")
	_, d := e.newHarness(e.pluginConfig())
	fp := firstFingerprint(t, d)
	must.Eq(t, drivers.HealthStateUnhealthy, fp.Health)
	must.StrContains(t, fp.HealthDescription, "0.12.3")
	must.StrContains(t, fp.HealthDescription, "1.0.0")
	v, _ := fp.Attributes["driver.container.version"].GetString()
	must.Eq(t, "0.12.3", v)
}

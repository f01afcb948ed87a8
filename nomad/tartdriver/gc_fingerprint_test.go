package tartdriver

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/nomad/helper/uuid"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/tart"
)

// TestGC_SweepDeletesOnlyOrphansOfThisDriver: a leftover nomad-<alloc>-<task>
// VM (stopped or running) goes; the VM of a live task, a VM being started
// and foreign VMs stay.
func TestGC_SweepDeletesOnlyOrphansOfThisDriver(t *testing.T) {
	e := newTestEnv(t)
	h, d := e.newHarness(e.pluginConfig())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	live := newTask(t, "live", TaskConfig{Image: linuxImage})
	mkAllocDirNoLogs(t, h, live)
	start(t, h, live)

	orphanStopped := vmName(uuid.Generate(), "old")
	orphanRunning := vmName(uuid.Generate(), "older")
	starting := vmName(uuid.Generate(), "new")
	foreign := "gitlab-1234"
	for _, n := range []string{orphanStopped, orphanRunning, starting, foreign} {
		must.NoError(t, e.client.Clone(ctx, linuxImage, n, tart.CloneOptions{}))
	}
	t.Cleanup(func() {
		_ = removeVM(context.Background(), e.client, foreign)
		_ = removeVM(context.Background(), e.client, starting)
	})
	run, err := e.client.Run(ctx, orphanRunning, tart.RunOptions{NoGraphics: true})
	must.NoError(t, err)
	d.inFlight.Store(starting, true)
	pc := e.pluginConfig()
	orphanRecord := recordPath(&pc, orphanStopped)
	must.NoError(t, writeRecord(orphanRecord, taskRecord{SSHPassword: "secret"}))
	liveRecord := recordPath(&pc, vmName(live.AllocID, live.Name))
	must.FileExists(t, liveRecord)

	n, err := d.sweep(ctx)
	must.NoError(t, err)
	must.Eq(t, 2, n)
	must.False(t, e.vmExists(orphanStopped))
	must.False(t, e.vmExists(orphanRunning))
	eventually(t, 10*time.Second, "the orphan's tart run to exit", func() bool { return !run.Alive() })
	must.True(t, e.vmExists(vmName(live.AllocID, live.Name)))
	must.True(t, e.vmExists(starting))
	must.True(t, e.vmExists(foreign))
	// Task records go with their tasks (they hold credentials).
	must.FileNotExists(t, orphanRecord)
	must.FileExists(t, liveRecord)
}

// TestGC_NotInValidationProcess: SetConfig without AgentConfig (Nomad's
// throwaway validation process) never sweeps.
func TestGC_NotInValidationProcess(t *testing.T) {
	e := newTestEnv(t)
	d := NewDriver(testLogger(t))
	t.Cleanup(d.Shutdown)
	pc := e.pluginConfig()
	pc.GC, pc.GCGrace = true, "1ms"
	must.NoError(t, d.SetConfig(baseConfig(t, &pc, false)))
	d.mu.RLock()
	started := d.gcStarted
	d.mu.RUnlock()
	must.False(t, started)
	must.NoError(t, d.SetConfig(baseConfig(t, &pc, true)))
	d.mu.RLock()
	started = d.gcStarted
	d.mu.RUnlock()
	must.True(t, started)
}

func TestFingerprint_HealthyWithAttributes(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	fp := firstFingerprint(t, h.Fingerprint)
	must.Eq(t, drivers.HealthStateHealthy, fp.Health, must.Sprint(fp.HealthDescription))
	must.Eq(t, "2.32.1", *fp.Attributes["driver.tart.version"].String)
	must.Eq(t, int64(2), *fp.Attributes["driver.tart.macos_vms_max"].Int)
	must.Eq(t, int64(2), *fp.Attributes["driver.tart.macos_slots_free"].Int)
	must.Eq(t, int64(0), *fp.Attributes["driver.tart.macos_vms_running"].Int)
	must.NotNil(t, fp.Attributes["driver.tart.home_free_gb"])
}

func TestFingerprint_UndetectedWithoutTart(t *testing.T) {
	e := newTestEnv(t)
	pc := e.pluginConfig()
	pc.TartBinary = "/nonexistent/tart"
	h, _ := e.newHarness(pc)
	fp := firstFingerprint(t, h.Fingerprint)
	must.Eq(t, drivers.HealthStateUndetected, fp.Health)
	must.StrContains(t, fp.HealthDescription, "tart_binary")
}

func TestFingerprint_UnhealthyWhenTartFails(t *testing.T) {
	e := newTestEnv(t)
	pc := e.pluginConfig()
	pc.TartHome = "/proc/cannot-create-here"
	h, _ := e.newHarness(pc)
	fp := firstFingerprint(t, h.Fingerprint)
	must.Eq(t, drivers.HealthStateUnhealthy, fp.Health)
	must.StrContains(t, fp.HealthDescription, "TART_HOME")
}

func firstFingerprint(t *testing.T, f func(context.Context) (<-chan *drivers.Fingerprint, error)) *drivers.Fingerprint {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ch, err := f(ctx)
	must.NoError(t, err)
	select {
	case fp := <-ch:
		must.NotNil(t, fp)
		return fp
	case <-ctx.Done():
		t.Fatal("no fingerprint")
		return nil
	}
}

func TestDHCPLeaseWarning(t *testing.T) {
	must.Eq(t, 86400, leaseSeconds(""))
	must.Eq(t, 600, leaseSeconds("{\n    DHCPLeaseTimeSecs = 600;\n}\n"))
	must.Eq(t, "", leaseWarning(600))
	must.StrContains(t, leaseWarning(86400), "DHCPLeaseTimeSecs -int 600")
}

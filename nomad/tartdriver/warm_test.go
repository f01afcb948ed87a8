package tartdriver

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/hashicorp/nomad/plugins/drivers/testutils"
	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/guest"
	"github.com/tartanhq/tartan/nomad/tartdevice"
	"github.com/tartanhq/tartan/slots"
	"github.com/tartanhq/tartan/tart"
	"github.com/tartanhq/tartan/warm"
)

func warmTaskIn(t *testing.T, h *testutils.DriverHarness, name string, slot string) *drivers.TaskConfig {
	t.Helper()
	task := newTask(t, name, TaskConfig{Image: macImage, WarmStart: true})
	task.Env = map[string]string{tartdevice.EnvSlot: slot}
	mkAllocDirNoLogs(t, h, task)
	return task
}

func runLogOf(task *drivers.TaskConfig) string {
	b, _ := os.ReadFile(filepath.Join(task.TaskDir().Dir, stateDirName, runLogName))
	return string(b)
}

// waitSnapshot waits for slot's suspended snapshot (built in the background
// after a task's VM was destroyed).
func waitSnapshot(t *testing.T, e *testEnv, slot string) string {
	t.Helper()
	var name string
	eventually(t, 60*time.Second, "the slot's warm snapshot", func() bool {
		vms, err := e.client.List(context.Background(), tart.ListOptions{Source: "local"})
		if err != nil {
			return false
		}
		for _, v := range vms {
			if strings.HasPrefix(v.Name, warm.Prefix+slot+"-") && v.State == tart.StateSuspended {
				name = v.Name
				return true
			}
		}
		return false
	})
	return name
}

func deleteSnapshots(t *testing.T, e *testEnv) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	vms, _ := e.client.List(ctx, tart.ListOptions{Source: "local"})
	for _, v := range vms {
		if strings.HasPrefix(v.Name, warm.Prefix) {
			must.NoError(t, removeVM(ctx, e.client, v.Name))
		}
	}
}

// TestWarmStart_ReservedSlotResumesItsSnapshot: the first warm task boots
// cold; destroying it builds slot 1's snapshot; the next task reserved on
// slot 1 resumes it (no boot), gets the clock and IP checks, and runs.
// A resume that fails boots cold in the same StartTask.
func TestWarmStart_ReservedSlotResumesItsSnapshot(t *testing.T) {
	e := newTestEnv(t)
	pc := e.pluginConfig()
	pc.Warm = WarmConfig{Enabled: true, Dir: t.TempDir()}
	h, d := e.newHarness(pc)

	first := warmTaskIn(t, h, "first", "1")
	start(t, h, first)
	must.False(t, strings.Contains(runLogOf(first), "resuming VM")) // cold: nothing to resume yet
	must.NoError(t, h.DestroyTask(first.ID, true))
	d.waitWarmBuilds()
	snap := waitSnapshot(t, e, "1")

	second := warmTaskIn(t, h, "second", "1")
	begin := time.Now()
	start(t, h, second)
	waitBooted(t, h, second.ID)
	t.Logf("warm StartTask + boot: %s", time.Since(begin).Round(time.Millisecond))
	must.StrContains(t, runLogOf(second), "resuming VM...")
	must.NoError(t, h.DestroyTask(second.ID, true))
	d.waitWarmBuilds() // nothing to build: the slot's snapshot is current
	must.Eq(t, snap, waitSnapshot(t, e, "1"))

	// A refused resume: cold boot in the same StartTask, snapshot retired.
	t.Setenv("TART_SIM_RESUME_FAIL", "refuse")
	third := warmTaskIn(t, h, "third", "1")
	start(t, h, third)
	waitBooted(t, h, third.ID)
	log := runLogOf(third)
	must.StrContains(t, log, "failed to restore")
	_, err := e.client.Get(context.Background(), snap)
	must.ErrorIs(t, err, tart.ErrVMNotFound) // retired; the slot rebuilds it when free
	must.NoError(t, h.DestroyTask(third.ID, true))
	d.waitWarmBuilds()
	must.Eq(t, snap, waitSnapshot(t, e, "1"))
	deleteSnapshots(t, e)
}

// TestWarmStart_TwoSlotsTwoMACs: tasks reserved on slots 1 and 2 resume
// their own slot's snapshot at the same time: both resumed, different IPs.
func TestWarmStart_TwoSlotsTwoMACs(t *testing.T) {
	e := newTestEnv(t)
	pc := e.pluginConfig()
	pc.Warm = WarmConfig{Enabled: true, Dir: t.TempDir()}
	h, d := e.newHarness(pc)
	for _, slot := range []string{"1", "2"} {
		cold := warmTaskIn(t, h, "cold"+slot, slot)
		start(t, h, cold)
		must.NoError(t, h.DestroyTask(cold.ID, true))
		d.waitWarmBuilds()
		waitSnapshot(t, e, slot)
	}
	a, b := warmTaskIn(t, h, "a", "1"), warmTaskIn(t, h, "b", "2")
	start(t, h, a)
	start(t, h, b)
	ipA, ipB := waitBooted(t, h, a.ID), waitBooted(t, h, b.ID)
	must.StrContains(t, runLogOf(a), "resuming VM...")
	must.StrContains(t, runLogOf(b), "resuming VM...")
	must.False(t, strings.Contains(runLogOf(b), "same MAC address"))
	must.NotEq(t, ipA, ipB)
	must.NoError(t, h.DestroyTask(a.ID, true))
	must.NoError(t, h.DestroyTask(b.ID, true))
	d.waitWarmBuilds()
	deleteSnapshots(t, e)
}

func TestWarmConfig_Parses(t *testing.T) {
	pc := parsePlugin(t, `config {
  warm {
    enabled        = true
    dir            = "/var/tmp/w"
    budget_gb      = 60
    warm_up_script = "/etc/tartan/warm-up.sh"
  }
}`)
	must.Eq(t, WarmConfig{Enabled: true, Dir: "/var/tmp/w", BudgetGB: 60, WarmUpScript: "/etc/tartan/warm-up.sh", ResumeTimeout: "60s"}, pc.Warm)
	must.False(t, parsePlugin(t, `config {}`).Warm.Enabled)
	must.True(t, parseTask(t, `config {
  image      = "ghcr.io/cirruslabs/macos-sequoia-base:latest"
  warm_start = true
}`).WarmStart)
	must.False(t, parseTask(t, `config { image = "ghcr.io/cirruslabs/macos-sequoia-base:latest" }`).WarmStart)
}

// TestWarmStart_BuildYieldsTheSlotToATask: a task reserved on a slot that
// a snapshot build holds gets it within seconds (the build gives it up).
func TestWarmStart_BuildYieldsTheSlotToATask(t *testing.T) {
	e := newTestEnv(t)
	pc := e.pluginConfig()
	pc.Warm = WarmConfig{Enabled: true, Dir: t.TempDir()}
	h, d := e.newHarness(pc)
	pool, err := slots.New(e.slots, map[slots.Kind]int{slots.KindMacOS: 2})
	must.NoError(t, err)
	slow := e.pluginConfig()
	slowClient, err := tart.New(tart.Options{Binary: slow.TartBinary, Home: slow.TartHome, Env: []string{"CI=1", "TART_SIM_IP_DELAY=60s"}})
	must.NoError(t, err)
	m, err := warm.New(warm.Options{Tart: slowClient, Dir: pc.Warm.Dir, Logf: t.Logf,
		Connect: func(ctx context.Context, vm string, _ *tart.RunHandle) (guest.Transport, error) {
			return connectResumed(ctx, slowClient, guestTarget{VM: vm, Transport: "auto", SSHUser: "admin", SSHPassword: "admin", SSHPort: 22}, time.Minute)
		}})
	must.NoError(t, err)
	built := make(chan error, 1)
	go func() {
		_, err := m.BuildInSlot(context.Background(), pool, 1, warm.Spec{Image: macImage}, warm.BuildOptions{})
		built <- err
	}()
	eventually(t, 30*time.Second, "the build holding slot 1", func() bool { return buildHolds(pool) })
	task := warmTaskIn(t, h, "task", "1")
	begin := time.Now()
	start(t, h, task)
	t.Logf("StartTask got the slot from the build in %s", time.Since(begin).Round(time.Millisecond))
	select {
	case err := <-built:
		must.ErrorIs(t, err, warm.ErrPreempted)
	case <-time.After(30 * time.Second):
		t.Fatal("the build did not end")
	}
	must.NoError(t, h.DestroyTask(task.ID, true))
	d.waitWarmBuilds()
	deleteSnapshots(t, e)
}

package tartdriver

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/helper/testlog"
	"github.com/hashicorp/nomad/helper/uuid"
	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/hashicorp/nomad/plugins/drivers/testutils"
	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/internal/testenv"
	"github.com/tartanhq/tartan/nomad/driverkit/drivertest"
	"github.com/tartanhq/tartan/tart"
)

const (
	macImage   = "ghcr.io/cirruslabs/macos-sequoia-base:latest"
	linuxImage = "ghcr.io/cirruslabs/ubuntu:latest"
)

// testEnv is one isolated tart-sim installation: its own TART_HOME and
// slot directory, so tests never see each other's VMs.
type testEnv struct {
	t      *testing.T
	home   string
	slots  string
	sim    string
	client *tart.Client
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	e := &testEnv{t: t, home: t.TempDir(), slots: t.TempDir(), sim: testenv.TartSim(t)}
	c, err := tart.New(tart.Options{Binary: e.sim, Home: e.home, Env: []string{"CI=1"}})
	must.NoError(t, err)
	e.client = c
	t.Cleanup(e.assertNoVMsLeft)
	return e
}

func (e *testEnv) pluginConfig() PluginConfig {
	pc := *defaultPlugin()
	pc.TartBinary, pc.TartHome, pc.SlotsDir, pc.GC = e.sim, e.home, e.slots, false
	return pc
}

// assertNoVMsLeft proves that a test cleaned up: no VM in TART_HOME.
func (e *testEnv) assertNoVMsLeft() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	vms, err := e.client.List(ctx, tart.ListOptions{Source: "local"})
	if err != nil {
		e.t.Errorf("listing VMs at cleanup: %v", err)
		return
	}
	for _, vm := range vms {
		e.t.Errorf("VM %s left behind (running=%v)", vm.Name, vm.Running)
		_ = removeVM(ctx, e.client, vm.Name)
	}
}

// newHarness starts a driver as Nomad does: SetConfig with an AgentConfig
// (the long-lived instance), behind a real gRPC connection.
func (e *testEnv) newHarness(pc PluginConfig) (*testutils.DriverHarness, *Driver) {
	e.t.Helper()
	d := NewDriver(testlog.HCLogger(e.t))
	h := testutils.NewDriverHarness(e.t, d)
	var raw []byte
	must.NoError(e.t, base.MsgPackEncode(&raw, &pc))
	must.NoError(e.t, h.SetConfig(&base.Config{PluginConfig: raw, AgentConfig: &base.AgentConfig{Driver: &base.ClientDriverConfig{}}}))
	e.t.Cleanup(d.Shutdown)
	e.t.Cleanup(func() { runAllocCleanups(h) })
	return h, d
}

func testLogger(t *testing.T) hclog.Logger { return testlog.HCLogger(t) }

func baseConfig(t *testing.T, pc *PluginConfig, agent bool) *base.Config {
	t.Helper()
	var raw []byte
	must.NoError(t, base.MsgPackEncode(&raw, pc))
	c := &base.Config{PluginConfig: raw}
	if agent {
		c.AgentConfig = &base.AgentConfig{Driver: &base.ClientDriverConfig{}}
	}
	return c
}

func newTask(t *testing.T, name string, tc TaskConfig) *drivers.TaskConfig {
	t.Helper()
	task := &drivers.TaskConfig{
		ID: uuid.Generate(), AllocID: uuid.Generate(), Name: name, JobName: "test-job",
		Resources: &drivers.Resources{NomadResources: &structs.AllocatedTaskResources{
			Cpu: structs.AllocatedCpuResources{CpuShares: 100}, Memory: structs.AllocatedMemoryResources{MemoryMB: 300}}},
	}
	if tc.GuestTransport == "" {
		tc.GuestTransport = "auto"
	}
	tc.RandomMAC = true
	tc.Headless = true
	must.NoError(t, task.EncodeConcreteDriverConfig(&tc))
	return task
}

// mkAllocDir builds the task's alloc dir with logmon. Its cleanup also
// closes the harness connection, so all of them run when the test ends,
// after every DestroyTask cleanup registered by start.
func mkAllocDir(t *testing.T, h *testutils.DriverHarness, task *drivers.TaskConfig) {
	t.Helper()
	allocDirs.Make(h, task, true)
}

// mkAllocDirNoLogs is for tasks that never write logs (VM-only tasks, tasks
// that fail to start): logmon's stop waits seconds for a writer otherwise.
func mkAllocDirNoLogs(t *testing.T, h *testutils.DriverHarness, task *drivers.TaskConfig) {
	t.Helper()
	allocDirs.Make(h, task, false)
}

var allocDirs drivertest.AllocDirs

func runAllocCleanups(h *testutils.DriverHarness) { allocDirs.CleanUp(h) }

// start runs StartTask, registers DestroyTask as cleanup and waits until
// the VM's boot (which StartTask no longer waits for) has ended.
func start(t *testing.T, h *testutils.DriverHarness, task *drivers.TaskConfig) (*drivers.TaskHandle, *drivers.DriverNetwork) {
	t.Helper()
	handle, net, err := h.StartTask(task)
	must.NoError(t, err)
	t.Cleanup(func() { _ = h.DestroyTask(task.ID, true) })
	if d, ok := h.Impl().(*Driver); ok {
		eventually(t, 60*time.Second, "the task's VM to boot", func() bool { return !taskBooting(d, task.ID) })
	}
	return handle, net
}

// Shared with the other task driver's tests.
var (
	waitExit   = drivertest.WaitExit
	readLog    = drivertest.ReadLog
	eventually = drivertest.Eventually // polls cond until it holds or the deadline passes
)

func logEventually(t *testing.T, task *drivers.TaskConfig, stream, want string) {
	t.Helper()
	eventually(t, 10*time.Second, fmt.Sprintf("%s to contain %q", stream, want), func() bool {
		return strings.Contains(readLog(t, task, stream), want)
	})
}

func (e *testEnv) vmExists(name string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := e.client.Get(ctx, name)
	return err == nil
}

// bootFailure starts a task whose boot must fail: StartTask returns once
// the VM runs, the failure arrives through WaitTask, and DestroyTask (as
// Nomad calls it after every exit) deletes the VM.
func bootFailure(t *testing.T, e *testEnv, h *testutils.DriverHarness, task *drivers.TaskConfig, timeout time.Duration) *drivers.ExitResult {
	t.Helper()
	_, _, err := h.StartTask(task)
	must.NoError(t, err)
	res := waitExit(t, h, task.ID, timeout)
	must.Error(t, res.Err, must.Sprintf("boot should fail: %+v", res))
	must.NoError(t, h.DestroyTask(task.ID, true))
	must.False(t, e.vmExists(vmName(task.AllocID, task.Name)))
	return res
}

// waitBooted waits until the task's boot finished and returns its IP.
func waitBooted(t *testing.T, h *testutils.DriverHarness, id string) string {
	t.Helper()
	var ip string
	eventually(t, 30*time.Second, "the task's VM to get an IP", func() bool {
		st, err := h.InspectTask(id)
		must.NoError(t, err)
		ip = st.DriverAttributes["ip"]
		return ip != ""
	})
	return ip
}

// taskBooting reports whether the driver still boots the task's VM.
func taskBooting(d *Driver, id string) bool {
	th, ok := d.tasks.Get(id)
	return ok && th.booting()
}

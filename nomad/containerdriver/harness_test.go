package containerdriver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/helper/testlog"
	"github.com/hashicorp/nomad/helper/uuid"
	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/hashicorp/nomad/plugins/drivers/testutils"
	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/applecontainer"
	"github.com/tartanhq/tartan/internal/testenv"
	"github.com/tartanhq/tartan/nomad/driverkit/drivertest"
)

// busybox is the image container-sim seeds (built from the host's busybox).
const busybox = "docker.io/library/busybox:latest"

// simPath is the container-sim binary the tests built ("" if none); the
// leak check looks for its processes.
var simPath string

// testEnv is one container-sim installation with its own app root, the
// apiserver started and busybox seeded.
type testEnv struct {
	t      *testing.T
	sim    string
	root   string
	env    []string
	client *applecontainer.Client
	keep   map[string]bool // containers a test leaves on purpose (gc.container = false)
}

func newTestEnv(t *testing.T, env ...string) *testEnv {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("container-sim needs root (runc, network namespaces)")
	}
	e := &testEnv{t: t, sim: testenv.Binary(t, "container-sim"), root: t.TempDir(), keep: map[string]bool{}}
	simPath = e.sim
	e.env = append([]string{"CONTAINER_APP_ROOT=" + e.root}, env...)
	c, err := applecontainer.New(applecontainer.Options{Binary: e.sim, Env: e.env})
	must.NoError(t, err)
	e.client = c
	e.cli("system", "start", "--enable-kernel-install")
	e.cli("sim", "seed", busybox)
	t.Cleanup(e.assertNothingLeft)
	return e
}

// cli runs the simulator directly (setup, faults).
func (e *testEnv) cli(args ...string) string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.sim, args...)
	cmd.Env = append(os.Environ(), e.env...)
	out, err := cmd.CombinedOutput()
	must.NoError(e.t, err, must.Sprintf("container %s: %s", strings.Join(args, " "), out))
	return string(out)
}

// assertNothingLeft proves that a test cleaned up: no container in the app
// root. Then the simulator is stopped.
func (e *testEnv) assertNothingLeft() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := e.client.List(ctx, true)
	if err != nil {
		e.t.Errorf("listing containers at cleanup: %v", err)
	}
	for _, c := range cs {
		if !e.keep[c.ID] {
			e.t.Errorf("container %s left behind (%s)", c.ID, c.State)
		}
		_ = e.client.Delete(ctx, c.ID, true)
	}
	cmd := exec.CommandContext(ctx, e.sim, "system", "stop")
	cmd.Env = append(os.Environ(), e.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		e.t.Errorf("system stop: %v: %s", err, out)
	}
}

func (e *testEnv) pluginConfig() PluginConfig {
	pc := *defaultPluginConfig()
	pc.ContainerPath = e.sim
	pc.GC.Container = true
	pc.GCGrace = "1h" // sweeps only where a test asks for one
	return pc
}

// newHarness starts a driver as Nomad does: SetConfig with an AgentConfig
// (the long-lived instance), behind a real gRPC connection.
func (e *testEnv) newHarness(pc PluginConfig) (*testutils.DriverHarness, *Driver) {
	e.t.Helper()
	d := NewDriver(testlog.HCLogger(e.t))
	d.clientEnv = e.env
	h := testutils.NewDriverHarness(e.t, d)
	var raw []byte
	must.NoError(e.t, base.MsgPackEncode(&raw, &pc))
	must.NoError(e.t, h.SetConfig(&base.Config{PluginConfig: raw, AgentConfig: &base.AgentConfig{Driver: &base.ClientDriverConfig{}}}))
	e.t.Cleanup(d.Shutdown)
	e.t.Cleanup(func() { runAllocCleanups(h) })
	return h, d
}

// containerExists asks the simulator whether id is there.
func (e *testEnv) containerExists(id string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := e.client.Inspect(ctx, id)
	if err != nil && !errors.Is(err, applecontainer.ErrNotFound) {
		e.t.Fatalf("inspect %s: %v", id, err)
	}
	return err == nil
}

func (e *testEnv) state(id string) applecontainer.State {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := e.client.Inspect(ctx, id)
	if errors.Is(err, applecontainer.ErrNotFound) {
		return ""
	}
	must.NoError(e.t, err)
	return c.State
}

func newTask(t *testing.T, name string, tc TaskConfig) *drivers.TaskConfig {
	t.Helper()
	task := &drivers.TaskConfig{
		ID: uuid.Generate(), AllocID: uuid.Generate(), Name: name, JobName: "test-job", JobID: "test-job",
		TaskGroupName: "group", Namespace: "default",
		Resources: &drivers.Resources{NomadResources: &structs.AllocatedTaskResources{
			Cpu: structs.AllocatedCpuResources{CpuShares: 100}, Memory: structs.AllocatedMemoryResources{MemoryMB: 256}}},
	}
	if tc.Image == "" {
		tc.Image = busybox
	}
	must.NoError(t, task.EncodeConcreteDriverConfig(&tc))
	return task
}

// mkAllocDir builds the task's alloc dir with logmon (logs = true) or
// without. The cleanups run when the test ends, after every DestroyTask.
func mkAllocDir(t *testing.T, h *testutils.DriverHarness, task *drivers.TaskConfig, logs bool) {
	t.Helper()
	allocDirs.Make(h, task, logs)
}

var allocDirs drivertest.AllocDirs

func runAllocCleanups(h *testutils.DriverHarness) { allocDirs.CleanUp(h) }

// start runs StartTask and registers DestroyTask as cleanup.
func start(t *testing.T, h *testutils.DriverHarness, task *drivers.TaskConfig) *drivers.TaskHandle {
	t.Helper()
	handle, _, err := h.StartTask(task)
	must.NoError(t, err)
	t.Cleanup(func() { _ = h.DestroyTask(task.ID, true) })
	return handle
}

func containerOf(t *testing.T, handle *drivers.TaskHandle) string {
	t.Helper()
	var st TaskState
	must.NoError(t, handle.GetDriverState(&st))
	return st.ContainerID
}

// Shared with the other task driver's tests.
var (
	waitExit   = drivertest.WaitExit
	readLog    = drivertest.ReadLog
	eventually = drivertest.Eventually // polls cond until it holds or the deadline passes
)

func logEventually(t *testing.T, task *drivers.TaskConfig, stream, want string) {
	t.Helper()
	eventually(t, 30*time.Second, fmt.Sprintf("%q in %s", want, stream), func() bool {
		return strings.Contains(readLog(t, task, stream), want)
	})
}

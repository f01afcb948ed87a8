package containerdriver

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/helper/uuid"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/tartanhq/tartan/applecontainer"
	"github.com/tartanhq/tartan/internal/testenv"
	"github.com/tartanhq/tartan/nomad/driverkit/drivertest"
	"github.com/tartanhq/tartan/supervisor"
)

// benchEnv is container-sim with its own app root, started and seeded, and
// a configured driver called directly (no gRPC).
type benchEnv struct {
	b      *testing.B
	sim    string
	env    []string
	client *applecontainer.Client
	d      *Driver
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	if os.Geteuid() != 0 {
		b.Skip("container-sim needs root")
	}
	e := &benchEnv{b: b, sim: testenv.Binary(b, "container-sim")}
	simPath = e.sim
	e.env = []string{"CONTAINER_APP_ROOT=" + b.TempDir()}
	c, err := applecontainer.New(applecontainer.Options{Binary: e.sim, Env: e.env})
	if err != nil {
		b.Fatal(err)
	}
	e.client = c
	e.cli("system", "start", "--enable-kernel-install")
	e.cli("sim", "seed", busybox)
	b.Cleanup(func() { e.cli("system", "stop") })

	pc := *defaultPluginConfig()
	pc.ContainerPath, pc.GCGrace = e.sim, "1h"
	d := NewDriver(hclog.NewNullLogger())
	d.clientEnv = e.env
	var raw []byte
	if err := base.MsgPackEncode(&raw, &pc); err != nil {
		b.Fatal(err)
	}
	if err := d.SetConfig(&base.Config{PluginConfig: raw, AgentConfig: &base.AgentConfig{Driver: &base.ClientDriverConfig{}}}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(d.Shutdown)
	e.d = d
	return e
}

func (e *benchEnv) cli(args ...string) {
	e.b.Helper()
	cmd := exec.Command(e.sim, args...)
	cmd.Env = append(os.Environ(), e.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		e.b.Fatalf("container %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// benchTask builds a task with the directories Nomad would have made.
func benchTask(b *testing.B) *drivers.TaskConfig {
	b.Helper()
	task := &drivers.TaskConfig{ID: uuid.Generate(), AllocID: uuid.Generate(), Name: "bench", AllocDir: b.TempDir(),
		StdoutPath: os.DevNull, StderrPath: os.DevNull}
	td := task.TaskDir()
	for _, d := range []string{td.SharedAllocDir, td.LocalDir, td.SecretsDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	if err := task.EncodeConcreteDriverConfig(&TaskConfig{Image: busybox, Command: "sleep", Args: []string{"600"}}); err != nil {
		b.Fatal(err)
	}
	return task
}

// BenchmarkStartTask measures StartTask until the container runs (image
// check, stale-name check, create, supervisor, attached start, running
// state), next to the simulator's floor: the same container by `container
// run -d` and by `container create` + `container start`.
func BenchmarkStartTask(b *testing.B) {
	b.Run("driver", func(b *testing.B) {
		e := newBenchEnv(b)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			task := benchTask(b)
			if _, _, err := e.d.StartTask(task); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := e.d.DestroyTask(task.ID, true); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
	b.Run("floor-run-detached", func(b *testing.B) {
		e := newBenchEnv(b)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			name := fmt.Sprintf("floor-%d", i)
			e.cli("run", "--detach", "--name", name, busybox, "sleep", "600")
			b.StopTimer()
			e.cli("delete", "--force", name)
			b.StartTimer()
		}
	})
	b.Run("floor-create-start", func(b *testing.B) {
		e := newBenchEnv(b)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			name := fmt.Sprintf("floor-%d", i)
			e.cli("create", "--name", name, busybox, "sleep", "600")
			e.cli("start", name)
			b.StopTimer()
			e.cli("delete", "--force", name)
			b.StartTimer()
		}
	})
}

// BenchmarkPluginMemory20Tasks starts 20 tasks and reports the plugin's
// memory (Go heap and process RSS growth) and the per-task supervisor
// processes' RSS and private memory (the attached CLI each supervisor runs
// is the simulator's, not counted). One measurement whatever b.N is: run it
// with -benchtime 1x.
func BenchmarkPluginMemory20Tasks(b *testing.B) {
	const n = 20
	e := newBenchEnv(b)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rssBefore := pidRSS(os.Getpid())
	var ids, stateDirs []string
	began := time.Now()
	for i := 0; i < n; i++ {
		task := benchTask(b)
		if _, _, err := e.d.StartTask(task); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, task.ID)
		stateDirs = append(stateDirs, filepath.Join(task.TaskDir().Dir, stateDirName))
	}
	startAll := time.Since(began)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	rssAfter := pidRSS(os.Getpid())
	var supRSS, supPrivate int64
	for _, sd := range stateDirs {
		supRSS += pidRSS(supervisor.PID(sd))
		supPrivate += pidPrivate(supervisor.PID(sd))
	}
	b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/1024/n, "heapKB/task")
	b.ReportMetric(float64(rssAfter-rssBefore)/1024/1024, "pluginRSSgrowthMB")
	b.ReportMetric(float64(supRSS)/1024/1024/n, "supervisorRSSMB/task")
	b.ReportMetric(float64(supPrivate)/1024/1024/n, "supervisorPrivateMB/task")
	b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
	b.ReportMetric(startAll.Seconds()/n, "s/start")
	for _, id := range ids {
		if err := e.d.DestroyTask(id, true); err != nil {
			b.Fatal(err)
		}
	}
}

// Memory readings of a process (Linux; 0 elsewhere).
var (
	pidRSS     = drivertest.RSS
	pidPrivate = drivertest.PrivateMemory
)

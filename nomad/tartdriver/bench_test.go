package tartdriver

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/helper/uuid"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/tartanhq/tartan/internal/testenv"
	"github.com/tartanhq/tartan/nomad/driverkit/drivertest"
	"github.com/tartanhq/tartan/supervisor"
	"github.com/tartanhq/tartan/tart"
)

// benchDriver is a configured driver called directly (no gRPC), on a
// tart-sim home with the image already pulled and zero boot delays.
func benchDriver(b *testing.B) (*Driver, *tart.Client) {
	b.Helper()
	for k, v := range map[string]string{"TART_SIM_IP_DELAY": "0s", "TART_SIM_SSH_DELAY": "0s", "TART_SIM_PULL_DELAY": "0s"} {
		b.Setenv(k, v)
	}
	home, slotsDir := b.TempDir(), b.TempDir()
	sim := testenv.TartSim(b)
	c, err := tart.New(tart.Options{Binary: sim, Home: home, Env: []string{"CI=1"}})
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Pull(context.Background(), linuxImage, tart.PullOptions{}); err != nil {
		b.Fatal(err)
	}
	pc := *defaultPlugin()
	pc.TartBinary, pc.TartHome, pc.SlotsDir, pc.GC = sim, home, slotsDir, false
	d := NewDriver(hclog.NewNullLogger())
	var raw []byte
	if err := base.MsgPackEncode(&raw, &pc); err != nil {
		b.Fatal(err)
	}
	if err := d.SetConfig(&base.Config{PluginConfig: raw, AgentConfig: &base.AgentConfig{Driver: &base.ClientDriverConfig{}}}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(d.Shutdown)
	return d, c
}

// benchTask builds a task with the directories Nomad would have made.
func benchTask(b *testing.B, tc TaskConfig) *drivers.TaskConfig {
	b.Helper()
	task := &drivers.TaskConfig{ID: uuid.Generate(), AllocID: uuid.Generate(), Name: "bench", AllocDir: b.TempDir(),
		StdoutPath: os.DevNull, StderrPath: os.DevNull}
	td := task.TaskDir()
	for _, d := range []string{td.SharedAllocDir, td.LocalDir, td.SecretsDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	tc.GuestTransport, tc.RandomMAC, tc.Headless = "auto", true, true
	if err := task.EncodeConcreteDriverConfig(&tc); err != nil {
		b.Fatal(err)
	}
	return task
}

// BenchmarkStartTask measures StartTask (ns/op: clone, set, slot, tart
// run, log follower start) and, as booted-ms, the time until the boot in
// the background is done (IP; plus guest check and supervisor for a
// command), with the simulator's boot delays at zero: the driver's own
// overhead.
func BenchmarkStartTask(b *testing.B) {
	for _, c := range []struct {
		name string
		tc   TaskConfig
	}{
		// console_log as the HCL default has it: the log follower copies
		// tart run's output and the console into the stdout FIFO.
		{"vm-only", TaskConfig{Image: linuxImage, ConsoleLog: true}},
		{"with-command", TaskConfig{Image: linuxImage, Command: "sleep 600"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			d, _ := benchDriver(b)
			var booted time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				task := benchTask(b, c.tc)
				began := time.Now()
				if _, _, err := d.StartTask(task); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				waitBootBench(b, d, task.ID)
				booted += time.Since(began)
				if err := d.DestroyTask(task.ID, true); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(booted.Milliseconds())/float64(b.N), "booted-ms")
		})
	}
}

// BenchmarkPluginMemory50Tasks starts 50 Linux-guest tasks with a command
// and reports the plugin's memory (Go heap and process RSS growth) and the
// per-task supervisor processes' RSS. One measurement whatever b.N is: run
// it alone with -benchtime 1x (ns/op is meaningless here).
func BenchmarkPluginMemory50Tasks(b *testing.B) {
	const n = 50
	d, _ := benchDriver(b)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rssBefore := selfRSS()
	var ids []string
	var stateDirs []string
	began := time.Now()
	for i := 0; i < n; i++ {
		task := benchTask(b, TaskConfig{Image: linuxImage, Command: "sleep 600"})
		if _, _, err := d.StartTask(task); err != nil {
			b.Fatal(err)
		}
		waitBootBench(b, d, task.ID)
		ids = append(ids, task.ID)
		stateDirs = append(stateDirs, filepath.Join(task.TaskDir().Dir, stateDirName))
	}
	startAll := time.Since(began)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	rssAfter := selfRSS()
	var supRSS, supPrivate int64
	for _, sd := range stateDirs {
		supRSS += pidRSS(supervisor.PID(sd))
		supPrivate += pidPrivate(supervisor.PID(sd))
	}
	b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/1024/n, "heapKB/task")
	b.ReportMetric(float64(rssAfter-rssBefore)/1024/1024, "pluginRSSgrowthMB")
	b.ReportMetric(float64(supRSS)/1024/1024/n, "supervisorRSSMB/task")
	// RSS counts the binary's text pages that all supervisors share.
	b.ReportMetric(float64(supPrivate)/1024/1024/n, "supervisorPrivateMB/task")
	b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
	b.ReportMetric(startAll.Seconds()/n, "s/start")
	for _, id := range ids {
		if err := d.DestroyTask(id, true); err != nil {
			b.Fatal(err)
		}
	}
}

func selfRSS() int64 { return pidRSS(os.Getpid()) }

// Memory readings of a process (Linux; 0 elsewhere).
var (
	pidRSS     = drivertest.RSS
	pidPrivate = drivertest.PrivateMemory
)

// waitBootBench waits (bounded) until the task's background boot ended.
func waitBootBench(b *testing.B, d *Driver, id string) {
	deadline := time.Now().Add(30 * time.Second)
	for taskBooting(d, id) {
		if time.Now().After(deadline) {
			b.Fatalf("task %s still booting after 30 s", id)
		}
		time.Sleep(time.Millisecond)
	}
}

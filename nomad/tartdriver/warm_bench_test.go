package tartdriver

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/tartanhq/tartan/internal/testenv"
	"github.com/tartanhq/tartan/nomad/tartdevice"
	"github.com/tartanhq/tartan/tart"
	"github.com/tartanhq/tartan/warm"
)

// BenchmarkWarmStartTask: StartTask until the guest runs the task's
// command (booted-ms), macOS task on reserved slot 1, cold vs warm, with
// simulated delays IP 2 s, sshd 0.5 s later, resume 0.2 s (10x scaled
// down; WARM_BENCH_REALISTIC=1: 20 s / 5 s / 2 s). Target: warm <= resume
// delay + 150 ms.
func BenchmarkWarmStartTask(b *testing.B) {
	ip, ssh, resume := "2s", "500ms", "200ms"
	if os.Getenv("WARM_BENCH_REALISTIC") != "" {
		ip, ssh, resume = "20s", "5s", "2s"
	}
	for k, v := range map[string]string{"TART_SIM_IP_DELAY": ip, "TART_SIM_SSH_DELAY": ssh, "TART_SIM_RESUME_DELAY": resume, "TART_SIM_PULL_DELAY": "0s"} {
		b.Setenv(k, v)
	}
	home, slotsDir := b.TempDir(), b.TempDir()
	sim := testenv.TartSim(b)
	c, err := tart.New(tart.Options{Binary: sim, Home: home, Env: []string{"CI=1"}})
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Pull(context.Background(), macImage, tart.PullOptions{}); err != nil {
		b.Fatal(err)
	}
	pc := *defaultPlugin()
	pc.TartBinary, pc.TartHome, pc.SlotsDir, pc.GC = sim, home, slotsDir, false
	pc.Warm = WarmConfig{Enabled: true, Dir: b.TempDir()}
	d := NewDriver(hclog.NewNullLogger())
	var raw []byte
	if err := base.MsgPackEncode(&raw, &pc); err != nil {
		b.Fatal(err)
	}
	if err := d.SetConfig(&base.Config{PluginConfig: raw, AgentConfig: &base.AgentConfig{Driver: &base.ClientDriverConfig{}}}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		d.waitWarmBuilds()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		vms, _ := c.List(ctx, tart.ListOptions{Source: "local"})
		for _, v := range vms {
			if strings.HasPrefix(v.Name, warm.Prefix) {
				_ = removeVM(ctx, c, v.Name)
			}
		}
		d.Shutdown()
	})
	task := func(warmStart bool) *drivers.TaskConfig {
		t := benchTask(b, TaskConfig{Image: macImage, Command: "sleep 600", WarmStart: warmStart})
		t.Env = map[string]string{tartdevice.EnvSlot: "1"}
		return t
	}
	// The first warm task boots cold; its end builds slot 1's snapshot.
	first := task(true)
	if _, _, err := d.StartTask(first); err != nil {
		b.Fatal(err)
	}
	waitBootBench(b, d, first.ID)
	if err := d.DestroyTask(first.ID, true); err != nil {
		b.Fatal(err)
	}
	d.waitWarmBuilds()
	for _, mode := range []string{"cold", "warm"} {
		b.Run(mode, func(b *testing.B) {
			var booted, started time.Duration
			for i := 0; i < b.N; i++ {
				t := task(mode == "warm")
				began := time.Now()
				if _, _, err := d.StartTask(t); err != nil {
					b.Fatal(err)
				}
				started += time.Since(began)
				waitBootBench(b, d, t.ID)
				booted += time.Since(began)
				b.StopTimer()
				if mode == "warm" && !strings.Contains(runLogOf(t), "resuming VM...") {
					b.Fatal("the warm task did not resume")
				}
				if err := d.DestroyTask(t.ID, true); err != nil {
					b.Fatal(err)
				}
				d.waitWarmBuilds()
				b.StartTimer()
			}
			b.ReportMetric(float64(booted.Milliseconds())/float64(b.N), "booted-ms")
			b.ReportMetric(float64(started.Milliseconds())/float64(b.N), "starttask-ms")
		})
	}
}

package gitlab_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// BenchmarkWarmPrepare: the prepare stage of a macOS job, cold vs warm
// (resumed from slot 1's snapshot), with simulated delays IP 2 s, sshd
// 0.5 s later, resume 0.2 s (10x scaled down; WARM_BENCH_REALISTIC=1:
// 20 s / 5 s / 2 s). Reports ms-prepare/op.
func BenchmarkWarmPrepare(b *testing.B) {
	ip, ssh, resume := "2s", "500ms", "200ms"
	if os.Getenv("WARM_BENCH_REALISTIC") != "" {
		ip, ssh, resume = "20s", "5s", "2s"
	}
	h := newSimHostB(b, "TART_SIM_IP_DELAY="+ip, "TART_SIM_SSH_DELAY="+ssh, "TART_SIM_RESUME_DELAY="+resume)
	warmDir := b.TempDir()
	b.Cleanup(func() { h.dropSnapshots(warmDir) })
	on := h.runner(h.settings("warm_start = true", fmt.Sprintf("warm_dir = %q", warmDir), `ip_timeout = "60s"`, `ready_timeout = "60s"`))
	off := h.runner(h.settings(`ip_timeout = "60s"`, `ready_timeout = "60s"`))
	if res := h.run(on, newJob("true")); res.Status != "success" { // boots cold, builds the snapshot after
		b.Fatalf("first job: %s\n%s", res.Status, res.Log)
	}
	h.waitSnapshot(warmDir)
	h.waitBuilders()
	for _, mode := range []string{"cold", "warm"} {
		b.Run(mode, func(b *testing.B) {
			r := off
			if mode == "warm" {
				r = on
			}
			var prepare time.Duration
			for range b.N {
				res := h.run(r, newJob("true"))
				if res.Status != "success" || (mode == "warm") != strings.Contains(res.Log, "resumed from snapshot") {
					b.Fatalf("%s job: %s\n%s", mode, res.Status, res.Log)
				}
				for _, st := range res.Stages {
					if st.Stage == "prepare" {
						prepare += st.Duration
					}
				}
				b.StopTimer()
				h.waitBuilders()
				b.StartTimer()
			}
			b.ReportMetric(float64(prepare.Milliseconds())/float64(b.N), "ms-prepare/op")
		})
	}
}

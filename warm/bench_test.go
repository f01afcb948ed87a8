package warm_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/tartanhq/tartan/warm"
)

// BenchmarkStart: Manager.Start from the call until the guest answers
// (clone, tart run, IP, transport, and after a resume the clock command),
// cold vs warm. Simulated delays: IP after 2 s, sshd 0.5 s later, resume
// 0.2 s (scaled down 10x); WARM_BENCH_REALISTIC=1 uses 20 s / 5 s / 2 s.
// Target: warm <= resume delay + 150 ms.
func BenchmarkStart(b *testing.B) {
	ip, ssh, resume := "2s", "500ms", "200ms"
	if os.Getenv("WARM_BENCH_REALISTIC") != "" {
		ip, ssh, resume = "20s", "5s", "2s"
	}
	w := newWorld(b, warm.Options{}, "TART_SIM_IP_DELAY="+ip, "TART_SIM_SSH_DELAY="+ssh, "TART_SIM_RESUME_DELAY="+resume)
	spec := w.spec()
	w.build(spec, "1")
	for _, mode := range []string{"cold", "warm"} {
		b.Run(mode, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				start := time.Now()
				st, err := w.startBench(spec, mode == "cold")
				took := time.Since(start)
				if err != nil || st.Warm != (mode == "warm") {
					b.Fatalf("%s start: %v %+v\n%s", mode, err, st, w.logs)
				}
				b.ReportMetric(float64(took.Milliseconds()), "ready-ms")
				b.StopTimer()
				st.Transport.Close()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				_ = w.c.Stop(ctx, "bench", 5*time.Second)
				<-st.Run.Done()
				_ = w.c.Delete(ctx, "bench")
				cancel()
				b.StartTimer()
			}
		})
	}
}

func (w *world) startBench(spec warm.Spec, cold bool) (*warm.Started, error) {
	w.t.Helper()
	return w.startWith(w.m, spec, "1", "bench", cold)
}

package tartsim_test

import (
	"testing"
	"time"
)

// BenchmarkCloneRunExecStop measures one VM lifecycle with the default
// boot delays (100ms to IP, +100ms to SSH/agent): clone from cache, run,
// first successful `tart exec`, stop, delete.
func BenchmarkCloneRunExecStop(b *testing.B) {
	s := newSim(b)
	s.must("pull", linuxImage)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		s.must("clone", linuxImage, "vm")
		cloned := time.Since(start)
		run := s.start(nil, "vm", "--no-graphics")
		for s.tart("exec", "vm", "true").code != 0 {
			if time.Since(start) > 30*time.Second {
				b.Fatal("exec never succeeded")
			}
			time.Sleep(10 * time.Millisecond)
		}
		ready := time.Since(start)
		s.must("stop", "vm")
		run.wait(s.t, 10*time.Second)
		s.must("delete", "vm")
		b.ReportMetric(float64(cloned.Milliseconds()), "clone-ms")
		b.ReportMetric(float64(ready.Milliseconds()), "exec-ready-ms")
	}
}

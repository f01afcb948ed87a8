package containersim_test

import (
	"io"
	"testing"
	"time"
)

// BenchmarkRunAttachedEcho measures `container run --rm busybox echo hi`
// attached: the time to the first byte of output (the floor of a Nomad task
// start through the container driver) and to the CLI's exit.
func BenchmarkRunAttachedEcho(b *testing.B) {
	s := newSim(b)
	var first time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		cmd := s.command(nil, "run", "--rm", "--progress", "none", "busybox", "echo", "hi")
		out, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 3)
		if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "hi\n" {
			b.Fatalf("output %q: %v", buf, err)
		}
		first += time.Since(start)
		if err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(first.Microseconds())/1000/float64(b.N), "ms-to-first-output")
}

// BenchmarkRunDetachedAndDelete measures `run -d` (returns once the process
// runs) plus `delete -f`.
func BenchmarkRunDetachedAndDelete(b *testing.B) {
	s := newSim(b)
	var runT time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		s.must("run", "-d", "--name", "bench", "busybox", "sleep", "1000")
		runT += time.Since(start)
		s.must("delete", "-f", "bench")
	}
	b.ReportMetric(float64(runT.Microseconds())/1000/float64(b.N), "ms-run-d")
}

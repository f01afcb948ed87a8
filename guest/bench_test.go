package guest

import (
	"context"
	"strconv"
	"testing"
	"time"
)

const benchBytes = 32 << 20

// benchmarkOutput measures guest stdout throughput (MB/s) of tr.
func benchmarkOutput(b *testing.B, tr Transport) {
	cmd := Command{Argv: []string{"head", "-c", strconv.Itoa(benchBytes), "/dev/zero"}}
	b.SetBytes(benchBytes)
	b.ResetTimer()
	for b.Loop() {
		var n countingWriter
		cmd.Stdout = &n
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		res, err := tr.Run(ctx, cmd)
		cancel()
		if err != nil || res.ExitCode != 0 || n.n != benchBytes {
			b.Fatalf("run: %v %+v, %d bytes", err, res, n.n)
		}
	}
}

// In-process simulated guest over SSH (loopback TCP, no tart involved).
func BenchmarkOutputSSH(b *testing.B) {
	g := startGuest(b, nil)
	benchmarkOutput(b, dial(b, g.ssh))
}

// A tart-sim VM over SSH.
func BenchmarkOutputSSHOnVM(b *testing.B) {
	benchmarkOutput(b, startVM(b, nil).connect(b, ModeSSH))
}

// A tart-sim VM through `tart exec` (the simulated guest agent).
func BenchmarkOutputAgentOnVM(b *testing.B) {
	benchmarkOutput(b, startVM(b, nil).connect(b, ModeAgent))
}

// Latency of a trivial command (what every GitLab stage pays).
func BenchmarkTrueSSH(b *testing.B) {
	g := startGuest(b, nil)
	s := dial(b, g.ssh)
	for b.Loop() {
		if _, err := s.Run(context.Background(), Command{Argv: []string{"true"}}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTrueAgentOnVM(b *testing.B) {
	tr := startVM(b, nil).connect(b, ModeAgent)
	for b.Loop() {
		if _, err := tr.Run(context.Background(), Command{Argv: []string{"true"}}); err != nil {
			b.Fatal(err)
		}
	}
}

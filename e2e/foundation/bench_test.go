package foundation

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tartanhq/tartan/guest"
	"github.com/tartanhq/tartan/tart"
)

// BenchmarkCloneToFirstOutput measures what our code adds between "a job
// wants a VM" and "the first guest command printed", on the simulator with
// zero boot delays: clone, run (until tart shows it running plus the start
// settle), ip, connect, first output. Each step is reported as ms/op;
// "first output" ends when the output reaches our writer, then-exit-ms is
// the rest of that command (exit status, per-command guest cleanup).
func BenchmarkCloneToFirstOutput(b *testing.B) {
	for _, mode := range modes {
		for _, settle := range []time.Duration{0, -1} {
			name := fmt.Sprintf("%s/settle=%s", mode, settleName(settle))
			b.Run(name, func(b *testing.B) { benchFirstOutput(b, mode, settle) })
		}
	}
}

func settleName(d time.Duration) string {
	if d < 0 {
		return "off"
	}
	return "default"
}

func benchFirstOutput(b *testing.B, mode guest.Mode, settle time.Duration) {
	w := newWorld(b)
	ctx := ctxFor(b, 10*time.Minute)
	if err := w.client.Pull(ctx, macImage, tart.PullOptions{}); err != nil {
		b.Fatal(err)
	}
	var clone, run, ip, connect, first, done time.Duration
	i := 0
	for b.Loop() {
		i++
		name := fmt.Sprintf("bench-%d", i)
		t0 := time.Now()
		if err := w.client.Clone(ctx, macImage, name, tart.CloneOptions{}); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		h, err := w.client.Run(ctx, name, tart.RunOptions{NoGraphics: true, StartSettle: settle})
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		addr, err := w.client.IP(ctx, name, tart.IPOptions{Wait: 30 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		cfg := w.guestConfig(name, mode)
		cfg.SSH.Addr = fmt.Sprintf("%s:%d", addr, w.sshPort)
		tr, err := guest.Connect(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		t4 := time.Now()
		out := newWatch("hello")
		res, err := tr.Run(ctx, guest.Command{Argv: []string{"echo", "hello"}, Stdout: out})
		if err != nil || res.ExitCode != 0 {
			b.Fatalf("first command: %v %+v", err, res)
		}
		t5 := time.Now()
		<-out.seen // closed before Run returned
		clone += t1.Sub(t0)
		run += t2.Sub(t1)
		ip += t3.Sub(t2)
		connect += t4.Sub(t3)
		first += out.seenAt.Sub(t4)
		done += t5.Sub(out.seenAt)

		b.StopTimer()
		_ = tr.Close()
		if err := w.client.Stop(ctx, name, 5*time.Second); err != nil {
			b.Fatal(err)
		}
		if !awaitExit(h, 30*time.Second) {
			b.Fatalf("tart run of %s did not exit after tart stop", name)
		}
		if err := w.client.Delete(ctx, name); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	n := float64(i)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / n }
	b.ReportMetric(ms(clone), "clone-ms")
	b.ReportMetric(ms(run), "run-ms")
	b.ReportMetric(ms(ip), "ip-ms")
	b.ReportMetric(ms(connect), "connect-ms")
	b.ReportMetric(ms(first), "first-output-ms")
	b.ReportMetric(ms(clone+run+ip+connect+first), "total-ms")
	b.ReportMetric(ms(done), "then-exit-ms") // output seen -> Run returns (exit status, guest cleanup)
}

// BenchmarkGuestOutputThroughput streams 64 MiB of guest stdout through
// each transport; the MB/s column is the throughput.
func BenchmarkGuestOutputThroughput(b *testing.B) {
	const size = 64 << 20
	w := newWorld(b)
	w.boot(linuxImage, "pipe", tart.RunOptions{NoGraphics: true})
	for _, mode := range modes {
		b.Run(string(mode), func(b *testing.B) {
			tr := w.connect("pipe", mode)
			ctx := ctxFor(b, 10*time.Minute)
			b.SetBytes(size)
			for b.Loop() {
				var n countWriter
				res, err := tr.Run(ctx, guest.Command{Argv: []string{"head", "-c", fmt.Sprint(size), "/dev/zero"}, Stdout: &n})
				if err != nil || res.ExitCode != 0 {
					b.Fatalf("%v %+v", err, res)
				}
				if n.Load() != size {
					b.Fatalf("got %d bytes, want %d", n.Load(), size)
				}
			}
		})
	}
}

// BenchmarkGuestCommandRoundTrip is the per-command overhead of each
// transport on an established connection (`true`).
func BenchmarkGuestCommandRoundTrip(b *testing.B) {
	w := newWorld(b)
	w.boot(linuxImage, "rt", tart.RunOptions{NoGraphics: true})
	for _, mode := range modes {
		b.Run(string(mode), func(b *testing.B) {
			tr := w.connect("rt", mode)
			ctx := ctxFor(b, 10*time.Minute)
			for b.Loop() {
				res, err := tr.Run(ctx, guest.Command{Argv: []string{"true"}})
				if err != nil || res.ExitCode != 0 {
					b.Fatalf("%v %+v", err, res)
				}
			}
		})
	}
}

type countWriter struct{ atomic.Int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.Add(int64(len(p))); return len(p), nil }

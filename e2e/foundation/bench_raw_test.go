package foundation

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/tartanhq/tartan/tart"
)

// BenchmarkRawTartSim is the floor under BenchmarkCloneToFirstOutput: the
// same simulator commands exec'd directly, without our client (no version
// check, no error classification, no start polling). The difference is what
// our code adds.
func BenchmarkRawTartSim(b *testing.B) {
	w := newWorld(b)
	if err := w.client.Pull(ctxFor(b, time.Minute), macImage, tart.PullOptions{}); err != nil {
		b.Fatal(err)
	}
	w.boot(macImage, "running", tart.RunOptions{NoGraphics: true})
	sim := func(args ...string) {
		cmd := exec.Command(w.client.Binary(), args...)
		cmd.Env = append(os.Environ(), "TART_HOME="+w.home, "CI=1", "TART_NO_AUTO_PRUNE=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("tart-sim %v: %v\n%s", args, err, out)
		}
	}
	b.Run("clone", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			name := fmt.Sprintf("raw-%d", i)
			sim("clone", macImage, name)
			b.StopTimer()
			sim("delete", name)
			b.StartTimer()
		}
	})
	b.Run("get", func(b *testing.B) {
		for b.Loop() {
			sim("get", "running", "--format", "json")
		}
	})
	b.Run("ip", func(b *testing.B) {
		for b.Loop() {
			sim("ip", "running")
		}
	})
	b.Run("exec-true", func(b *testing.B) {
		for b.Loop() {
			sim("exec", "running", "true")
		}
	})
}

// BenchmarkClientCalls are the same calls through our tart client.
func BenchmarkClientCalls(b *testing.B) {
	w := newWorld(b)
	w.boot(macImage, "running", tart.RunOptions{NoGraphics: true})
	ctx := ctxFor(b, 10*time.Minute)
	b.Run("get", func(b *testing.B) {
		for b.Loop() {
			if _, err := w.client.Get(ctx, "running"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ip", func(b *testing.B) {
		for b.Loop() {
			if _, err := w.client.IP(ctx, "running", tart.IPOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("exec-true", func(b *testing.B) {
		for b.Loop() {
			if code, err := w.client.Exec(ctx, "running", []string{"true"}, tart.ExecOptions{}); err != nil || code != 0 {
				b.Fatal(code, err)
			}
		}
	})
}

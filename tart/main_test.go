package tart

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tartanhq/tartan/internal/testenv"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(runHelper())
	}
	baseline := ourGoroutines()
	code := m.Run()
	// Leak checks: no tart-sim process started by these tests may survive,
	// and no goroutine (run waiters, version probes) may be left behind.
	if left := leftoverSimProcesses(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "leaked tart-sim processes: %v\n", left)
		killAll(left)
		code = max(code, 1)
	}
	if n := settledGoroutines(baseline, 5*time.Second); n > baseline {
		buf := make([]byte, 1<<20)
		fmt.Fprintf(os.Stderr, "leaked goroutines: %d > %d\n%s\n", n, baseline, buf[:runtime.Stack(buf, true)])
		code = max(code, 1)
	}
	testenv.Cleanup()
	os.Exit(code)
}

// settledGoroutines polls until the goroutine count is back to baseline or
// the deadline passes, and returns the last count.
func settledGoroutines(baseline int, within time.Duration) int {
	deadline := time.Now().Add(within)
	n := ourGoroutines()
	for n > baseline && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		n = ourGoroutines()
	}
	return n
}

// ourGoroutines counts goroutines except the os/signal loop, which the
// test framework itself starts in fuzz mode and never stops.
func ourGoroutines() int {
	buf := make([]byte, 1<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.TrimSpace(g) != "" && !strings.Contains(g, "os/signal.loop") {
			n++
		}
	}
	return n
}

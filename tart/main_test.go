package tart

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/tartanhq/tartan/internal/testenv"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(runHelper())
	}
	baseline := runtime.NumGoroutine()
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
	n := runtime.NumGoroutine()
	for n > baseline && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

package driverkit

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestMain fails the run when a test leaves a goroutine behind (an emitter
// loop that did not end with its context or stop channel).
func TestMain(m *testing.M) {
	baseline := runtime.NumGoroutine()
	code := m.Run()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling with a deadline, not synchronisation
	}
	if n := runtime.NumGoroutine(); n > baseline {
		fmt.Fprintf(os.Stderr, "leaked goroutines: %d > %d\n", n, baseline)
		code = max(code, 1)
	}
	os.Exit(code)
}

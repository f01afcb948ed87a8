package applecontainer

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tartanhq/tartan/internal/cliproc"
	"github.com/tartanhq/tartan/internal/testenv"
)

func TestMain(m *testing.M) {
	restore := testenv.PrivateTempDir()
	baseline := goroutines()
	code := m.Run()
	// Leak checks: no container-sim process started by these tests may
	// survive, no goroutine (version probes, waiters) may be left, and no
	// pull temp dir may stay behind.
	if left := leftoverSimProcesses(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "leaked container-sim processes: %v\n", left)
		for _, p := range left {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		code = max(code, 1)
	}
	deadline := time.Now().Add(5 * time.Second)
	for goroutines() > baseline && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := goroutines(); n > baseline {
		_, stacks := testenv.Goroutines()
		fmt.Fprintf(os.Stderr, "leaked goroutines: %d > %d\n%s\n", n, baseline, stacks)
		code = max(code, 1)
	}
	if left, _ := filepath.Glob(filepath.Join(os.TempDir(), "applecontainer-pull-*")); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "leaked pull temp dirs: %v\n", left)
		code = max(code, 1)
	}
	testenv.Cleanup()
	restore()
	os.Exit(code)
}

// goroutines counts goroutines except the os/signal loop, which the test
// framework itself starts in fuzz mode and never stops.
func goroutines() int {
	n, stacks := testenv.Goroutines()
	return n - strings.Count(stacks, "os/signal.loop()")
}

// simPath is the container-sim binary these tests built ("" if none).
var simPath string

// leftoverSimProcesses lists live processes running the built container-sim
// (Linux /proc; empty elsewhere).
func leftoverSimProcesses() []int {
	if simPath == "" {
		return nil
	}
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || strings.TrimSuffix(exe, " (deleted)") != simPath {
			continue
		}
		if !cliproc.IsZombie(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

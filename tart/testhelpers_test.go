package tart

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, within time.Duration, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	waitFor(t, 5*time.Second, func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	if pid == 0 {
		t.Fatalf("no pid in %s", path)
	}
	return pid
}

// assertProcessGone fails unless pid exits (or is a zombie) soon.
func assertProcessGone(t *testing.T, pid int) {
	t.Helper()
	if !waitFor(t, 5*time.Second, func() bool { return !processRunning(pid) }) {
		t.Fatalf("process %d still running", pid)
	}
}

// processRunning: exists and is not a zombie (a reparented zombie may wait
// for a reaper that a container's PID 1 does not provide).
func processRunning(pid int) bool {
	if !processAlive(pid) {
		return false
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		return true // no procfs (darwin): trust kill(pid, 0)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

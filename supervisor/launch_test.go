package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

// testArg makes this test binary a supervisor (see TestMain).
const testArg = "supervisor-test"

func TestMain(m *testing.M) {
	Main(Config{Arg: testArg})
	os.Exit(m.Run())
}

func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	// A zombie is dead for our purposes.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // not Linux: kill(0) is all we have
	}
	fields := strings.Fields(string(b))
	return len(fields) < 3 || fields[2] != "Z"
}

// TestLaunchAndStop_KillsTheWholeSession: a real re-executed supervisor in
// its own session; Stop ends it and the command it runs, and frees the
// state directory.
func TestLaunchAndStop_KillsTheWholeSession(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	spec := &Spec{StateDir: dir, Local: &Local{Argv: []string{"/bin/sh", "-c", "echo $$ > " + pidFile + "; exec sleep 300"}}}
	pid, err := Launch(spec, LaunchOptions{Arg: testArg})
	must.NoError(t, err)
	must.Positive(t, pid)
	must.True(t, Alive(dir))
	must.Eq(t, pid, PID(dir))
	var child int
	deadline := time.Now().Add(10 * time.Second)
	for child == 0 {
		b, _ := os.ReadFile(pidFile)
		child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		must.True(t, time.Now().Before(deadline), must.Sprint("child never started"))
		time.Sleep(10 * time.Millisecond)
	}
	Stop(dir, 100*time.Millisecond)
	must.False(t, Alive(dir))
	deadline = time.Now().Add(5 * time.Second)
	for processAlive(child) {
		must.True(t, time.Now().Before(deadline), must.Sprintf("child %d survived Stop", child))
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLaunch_BadBinaryFailsClearly: no handshake, an error naming the log.
func TestLaunch_BadBinaryFailsClearly(t *testing.T) {
	dir := t.TempDir()
	_, err := Launch(&Spec{StateDir: dir}, LaunchOptions{Exe: "/bin/true", HandshakeWait: 2 * time.Second})
	must.ErrorContains(t, err, "did not start")
	must.ErrorContains(t, err, LogPath(dir))
}

package cliproc

import (
	"bufio"
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

// gone reports whether pid no longer runs (exited, or a zombie nobody reaped).
func gone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if errors.Is(err, os.ErrNotExist) {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// Cancelling the context kills the child's whole process group, grandchild
// included, and Wait returns within the bound.
func TestCommandCancelKillsProcessGroup(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := Command(ctx, "/bin/sh", []string{"-c", "sleep 60 & echo $!; wait"}, nil)
	out, err := cmd.StdoutPipe()
	must.NoError(t, err)
	must.NoError(t, cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	must.NoError(t, err)
	grandchild, err := strconv.Atoi(strings.TrimSpace(line))
	must.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Kill(grandchild, syscall.SIGKILL) })

	start := time.Now()
	cancel()
	must.Error(t, cmd.Wait())
	must.Less(t, WaitDelay+time.Second, time.Since(start))
	must.Eq(t, -1, ExitCode(cmd))

	deadline := time.Now().Add(5 * time.Second)
	for !gone(grandchild) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	must.True(t, gone(grandchild), must.Sprintf("grandchild %d survived the group kill", grandchild))
}

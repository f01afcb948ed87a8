package cliproc

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

// gone reports whether pid no longer runs (exited, or a zombie nobody reaped).
func gone(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return errors.Is(err, os.ErrNotExist) || IsZombie(pid)
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

// A child that exited but was not waited for is a zombie; once reaped it is
// not (and neither is a pid that does not exist).
func TestIsZombie(t *testing.T) {
	cmd := exec.Command("/bin/true")
	must.NoError(t, cmd.Start())
	pid := cmd.Process.Pid
	deadline := time.Now().Add(5 * time.Second)
	for !IsZombie(pid) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	must.True(t, IsZombie(pid))
	must.NoError(t, cmd.Wait())
	must.False(t, IsZombie(pid))
	must.False(t, IsZombie(os.Getpid()))
}

//go:build linux

package slots

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"github.com/shoenig/test/must"
)

// Runners under different users share one slot directory: root creates it
// (01777, files 0666), an unprivileged user takes the second slot and writes
// its holder record, and each sees the other's slot as busy.
func TestSlotsSharedBetweenUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a helper as another user")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)

	// Both the slot directory and a copy of the test binary must be
	// reachable by nobody: t.TempDir is private to root.
	base, err := os.MkdirTemp("", "slots-users-")
	must.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(base) })
	must.NoError(t, os.Chmod(base, 0o755))
	bin := filepath.Join(base, "slots.test")
	copyExecutable(t, os.Args[0], bin)
	dir := filepath.Join(base, "slots")

	p, err := New(dir, nil)
	must.NoError(t, err)
	mine, err := p.TryAcquire(KindMacOS, Holder{Owner: "root runner", VM: "my-vm"})
	must.NoError(t, err)
	defer mine.Release()

	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), helperEnv+"=acquire-hold", dirEnv+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	cmd.Dir = base
	stdin, err := cmd.StdinPipe()
	must.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	must.NoError(t, err)
	var stderr bytesBuffer
	cmd.Stderr = &stderr
	must.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	must.EqOp(t, "ready\n", line, must.Sprintf("helper as nobody failed: %s", stderr.String()))

	hs, err := p.Holders(KindMacOS)
	must.NoError(t, err)
	must.Len(t, 2, hs)
	other := hs[1-(mine.Number()-1)]
	must.EqOp(t, "other user", other.Owner, must.Sprint("nobody wrote its holder record"))
	must.EqOp(t, cmd.Process.Pid, other.PID)
	_, err = p.TryAcquire(KindMacOS, Holder{})
	var busy *BusyError
	must.True(t, errors.As(err, &busy))

	_, _ = io.WriteString(stdin, "done\n")
	must.NoError(t, cmd.Wait())
	again, err := p.TryAcquire(KindMacOS, Holder{})
	must.NoError(t, err)
	must.NoError(t, again.Release())
}

func copyExecutable(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	must.NoError(t, err)
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	must.NoError(t, err)
	_, err = io.Copy(out, in)
	must.NoError(t, err)
	must.NoError(t, out.Close())
}

// bytesBuffer collects a child's stderr (written by exec's copy goroutine).
type bytesBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (w *bytesBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *bytesBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.b)
}

package tartsim_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A lock file handed to `tart run` (how slots tie themselves to a VM) is held
// by tart run only: the guest does not inherit it, and it is free once the
// run process dies.
func TestHandedOverLockLivesWithRunOnly(t *testing.T) {
	s := newSim(t)
	s.must("clone", linuxImage, "vm")
	lockPath := filepath.Join(t.TempDir(), "slot.lock")
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(s.bin, "run", "vm", "--no-graphics")
	cmd.Env = s.env
	cmd.ExtraFiles = []*os.File{f}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	f.Close() // only tart run holds the lock now

	eventually(t, 10*time.Second, "running", func() bool { return s.state("vm") == "running" })
	s.must("ip", "vm", "--wait", "5")
	eventually(t, 10*time.Second, "guest process", func() bool {
		for _, p := range simProcesses() {
			if strings.Contains(p, "__guest") {
				return true
			}
		}
		return false
	})
	for _, p := range simProcesses() {
		pid, _, _ := strings.Cut(p, ":")
		if pid == "" || pid == strconv.Itoa(cmd.Process.Pid) {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join("/proc", pid, "fd"))
		for _, fd := range fds {
			if target, _ := os.Readlink(filepath.Join("/proc", pid, "fd", fd.Name())); target == lockPath {
				t.Fatalf("guest process %s inherited the handed-over lock", p)
			}
		}
	}
	if tryLock(t, lockPath) {
		t.Fatal("lock free while tart run lives")
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
	eventually(t, 5*time.Second, "lock released", func() bool { return tryLock(t, lockPath) })
}

func tryLock(t *testing.T, path string) bool {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}

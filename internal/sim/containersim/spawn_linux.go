package containersim

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// startRuntime spawns the runtime process of c in its own session (so that
// signals to the CLI's process group never reach it) and returns the first
// attached connection: one end of a socketpair, so no output can be missed.
func (e *env) startRuntime(c *container) (*frameConn, *exec.Cmd, error) {
	if os.Geteuid() != 0 {
		return nil, nil, failf("container-sim runs containers with runc in their own namespaces: run it as root")
	}
	if _, err := os.Stat(runcBinary(e)); err != nil {
		return nil, nil, failf("container-sim needs runc: %s not found (install runc or set CONTAINER_SIM_RUNC)", runcBinary(e))
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	mine := os.NewFile(uintptr(fds[0]), "attach")
	theirs := os.NewFile(uintptr(fds[1]), "attach-runtime")
	defer theirs.Close()
	logf, err := os.OpenFile(filepath.Join(c.Bundle, "runtime.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		mine.Close()
		return nil, nil, err
	}
	defer logf.Close()
	cmd := exec.Command(e.self, "__runtime", e.root, c.ID)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = "/"
	if err := cmd.Start(); err != nil {
		mine.Close()
		return nil, nil, fmt.Errorf("start container runtime: %w", err)
	}
	conn, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		return nil, nil, err
	}
	return &frameConn{rw: conn}, cmd, nil
}

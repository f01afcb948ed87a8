//go:build unix

package applecontainer

import (
	"errors"
	"os/exec"
	"syscall"
)

// setProcessGroup puts the child in a new process group so cancellation can
// kill the CLI and anything it started.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func killProcessGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return cmd.Process.Kill()
	}
	return err
}

//go:build unix

package cliproc

import (
	"errors"
	"os/exec"
	"syscall"
)

// SetProcessGroup puts the child in a new process group so cancellation can
// kill the CLI and anything it started (helpers, network daemons).
func SetProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// KillProcessGroup SIGKILLs the started child's process group, or just the
// child when the group is already gone. Nil for an unstarted cmd.
func KillProcessGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return cmd.Process.Kill()
	}
	return err
}

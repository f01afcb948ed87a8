//go:build !unix

package cliproc

import "os/exec"

// SetProcessGroup: both CLIs run only on macOS; elsewhere the child gets no
// process group and cancellation kills the CLI process only.
func SetProcessGroup(*exec.Cmd) {}

// KillProcessGroup kills the child process only (no process groups here).
func KillProcessGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return cmd.Process.Kill()
}

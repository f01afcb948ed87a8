//go:build !unix

package applecontainer

import "os/exec"

// Apple's container only runs on macOS; elsewhere the child gets no process
// group and cancellation kills the CLI process only.
func setProcessGroup(*exec.Cmd) {}

func killProcessGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return cmd.Process.Kill()
}

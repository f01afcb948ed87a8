//go:build !linux

package containersim

import (
	"errors"
	"os/exec"
)

var errLinuxOnly = errors.New("container-sim runs containers only on Linux (runc, namespaces)")

func (e *env) startRuntime(c *container) (*frameConn, *exec.Cmd, error) {
	return nil, nil, errLinuxOnly
}

// RuntimeMain is Linux-only.
func RuntimeMain(args []string) int { return exitFailure }

func (e *env) reapCrashed(c *container) {}

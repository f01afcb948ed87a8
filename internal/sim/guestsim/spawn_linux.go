//go:build linux

package guestsim

import (
	"os"
	"syscall"
)

// spawnAttrs: own process group (a Ctrl-C to tart run's group does not hit
// the guest directly: tart run stops it), a signal when the parent dies, and
// private PID and mount namespaces when we may have them.
func spawnAttrs() (*syscall.SysProcAttr, bool, error) {
	a := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() != 0 {
		// No PID namespace to take everything down: the guest gets a
		// catchable SIGTERM instead, so it can kill its commands' process
		// groups before exiting.
		a.Pdeathsig = syscall.SIGTERM
		return a, false, nil
	}
	// A PID namespace makes "the guest dies with its parent" hold for every
	// process in it: when its init (our child) is killed, the kernel kills
	// them all, daemons and orphans included.
	a.Cloneflags = syscall.CLONE_NEWPID
	a.Unshareflags = syscall.CLONE_NEWNS
	return a, true, nil
}

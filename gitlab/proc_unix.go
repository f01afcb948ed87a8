package gitlab

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// pidAlive reports whether a process with this PID exists (EPERM means it
// exists but belongs to someone else).
func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// ownerProcess is the gitlab-runner process behind this stage: the parent,
// unless an admin wrapped the executor in a shell (config_exec = "/bin/sh"),
// whose process exits with the stage; then the shell's parent.
func ownerProcess() int {
	pid := os.Getppid()
	for range 3 {
		comm, ppid, ok := processInfo(pid)
		// A script's comm is its own name: its interpreter tells.
		wrapper := wrapperComm[filepath.Base(comm)] || wrapperComm[filepath.Base(processExe(pid))]
		if !ok || ppid <= 1 || !wrapper {
			break
		}
		pid = ppid
	}
	return pid
}

// wrapperComm are programs that only pass a stage on.
var wrapperComm = map[string]bool{"sh": true, "bash": true, "zsh": true, "dash": true, "env": true, "sudo": true, "su": true}

// signalName is the conventional name of sig ("SIGTERM"), not Go's
// description ("terminated").
func signalName(sig os.Signal) string {
	if s, ok := sig.(syscall.Signal); ok {
		if name := unix.SignalName(s); name != "" {
			return name
		}
	}
	return sig.String()
}

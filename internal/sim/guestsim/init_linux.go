//go:build linux

package guestsim

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// runAsInit is the PID 1 of a guest's PID namespace. PID 1 must reap every
// orphan (or they stay zombies), and its death takes the whole namespace
// down. It runs the real guest as its child, passing stdin/stdout/stderr
// through, and exits with the guest's status. ok is false when this process
// is not a namespace init.
func runAsInit() (code int, ok bool) {
	if os.Getpid() != 1 {
		return 0, false
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Printf("error: guestsim init: %v\n", err)
		return 1, true
	}
	cmd := exec.Command(exe, GuestCommand)
	cmd.Env = os.Environ()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// Forward stop requests; PID 1 ignores signals it does not handle.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	if err := cmd.Start(); err != nil {
		fmt.Printf("error: guestsim init: starting guest: %v\n", err)
		return 1, true
	}
	guestPid := cmd.Process.Pid
	go func() {
		for s := range sigs {
			_ = syscall.Kill(guestPid, s.(syscall.Signal))
		}
	}()
	// Reap everything; os/exec's Wait is not used since wait4(-1) would
	// race with it.
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 1, true // ECHILD: cannot happen while the guest lives
		}
		if pid == guestPid {
			if ws.Signaled() {
				return 128 + int(ws.Signal()), true
			}
			return ws.ExitStatus(), true
		}
	}
}

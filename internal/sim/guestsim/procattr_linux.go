//go:build linux

package guestsim

import "syscall"

// groupAttrs puts a guest command in its own process group; Pdeathsig makes
// it die with the guest even when the guest is SIGKILLed.
func groupAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// ttyAttrs makes the command a session leader with the PTY as its
// controlling terminal (stdin is fd 0 = the terminal).
func ttyAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0, Pdeathsig: syscall.SIGKILL}
}

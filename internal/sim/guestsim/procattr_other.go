//go:build !linux

package guestsim

import "syscall"

// groupAttrs puts a guest command in its own process group.
func groupAttrs() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// ttyAttrs makes the command a session leader with the PTY as its
// controlling terminal.
func ttyAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
}

package guest

import (
	"os"
	"syscall"
)

// signalNames maps host signals to the portable names used on the wire
// (RFC 4254 "signal" requests) and by kill(1) in the guest. Numbers differ
// between macOS and Linux for some of them; names do not.
var signalNames = map[syscall.Signal]string{
	syscall.SIGABRT: "ABRT",
	syscall.SIGALRM: "ALRM",
	syscall.SIGHUP:  "HUP",
	syscall.SIGINT:  "INT",
	syscall.SIGKILL: "KILL",
	syscall.SIGPIPE: "PIPE",
	syscall.SIGQUIT: "QUIT",
	syscall.SIGTERM: "TERM",
	syscall.SIGUSR1: "USR1",
	syscall.SIGUSR2: "USR2",
}

// signalNumbers gives 128+n exit codes for a signal death, with the numbers
// that macOS and Linux share (and Linux's for USR1/USR2).
var signalNumbers = map[string]int{
	"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "FPE": 8, "KILL": 9,
	"USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15,
}

// signalName returns the portable name of sig, or "" when it cannot be forwarded.
func signalName(sig os.Signal) string {
	if s, ok := sig.(syscall.Signal); ok {
		return signalNames[s]
	}
	return ""
}

// signalResult is the Result of a command killed by the named signal.
func signalResult(name string) Result {
	if n, ok := signalNumbers[name]; ok {
		return Result{ExitCode: 128 + n, Signal: name}
	}
	return Result{ExitCode: 255, Signal: name}
}

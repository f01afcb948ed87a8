package guestsim

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

var errGuestStopping = errors.New("guestsim: guest is shutting down")

// signalName gives the SSH / tart name of a signal: "TERM", "KILL"...
// (RFC 4254 §6.10 uses the name without the "SIG" prefix).
func signalName(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return strings.TrimPrefix(n, "SIG")
	}
	return fmt.Sprintf("%d", int(sig))
}

// parseSignal is the inverse of signalName; "SIGTERM" is accepted too.
func parseSignal(name string) (syscall.Signal, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if !strings.HasPrefix(n, "SIG") {
		n = "SIG" + n
	}
	if s := unix.SignalNum(n); s != 0 {
		return s, nil
	}
	return 0, fmt.Errorf("guestsim: unknown signal %q", name)
}

// exitOf turns a finished process state into (exit code, signal name).
// A signal-killed process has code -1 and the signal's name.
func exitOf(ws syscall.WaitStatus) (code int, signal string, core bool) {
	if ws.Signaled() {
		return -1, signalName(ws.Signal()), ws.CoreDump()
	}
	return ws.ExitStatus(), "", false
}

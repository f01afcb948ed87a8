//go:build !linux

package guestsim

// runAsInit: PID namespaces exist only on Linux.
func runAsInit() (int, bool) { return 0, false }

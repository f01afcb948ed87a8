//go:build !linux

package nomade2e

// unmountUnder: only Linux Nomad clients mount tmpfs into task dirs here.
func unmountUnder(string) {}

//go:build !linux

package guestsim

import "net"

func listenUnix(path string) (net.Listener, error) {
	ln, err := net.Listen("unix", path)
	if ul, ok := ln.(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(false) // unlinked by the agent itself, like on Linux
	}
	return ln, err
}

func dialUnix(path string) (net.Conn, error) { return net.Dial("unix", path) }

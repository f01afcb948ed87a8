//go:build linux

package guestsim

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
)

// maxSunPath is the room in sockaddr_un.sun_path, terminator excluded.
const maxSunPath = 107

// withShortPath calls fn with a path naming the same socket that fits in
// sun_path: test temp dirs and deep TART_HOMEs easily exceed 107 bytes.
// Long paths go through /proc/self/fd/<dir>/<base>, which the kernel
// resolves for bind and connect alike.
func withShortPath(path string, fn func(string) error) error {
	if len(path) <= maxSunPath {
		return fn(path)
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return fn("/proc/self/fd/" + strconv.Itoa(int(dir.Fd())) + "/" + filepath.Base(path))
}

func listenUnix(path string) (net.Listener, error) {
	var ln net.Listener
	err := withShortPath(path, func(p string) error {
		var err error
		ln, err = net.Listen("unix", p)
		return err
	})
	if ul, ok := ln.(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(false) // the short alias is not the real name; we unlink path ourselves
	}
	return ln, err
}

func dialUnix(path string) (net.Conn, error) {
	var c net.Conn
	err := withShortPath(path, func(p string) error {
		var err error
		c, err = net.Dial("unix", p)
		return err
	})
	return c, err
}

// Command echoserver is a static test helper run inside containers (busybox
// has no UDP or unix-socket server): `echoserver udp <port>` or
// `echoserver unix <path>` echoes every datagram / connection back.
package main

import (
	"io"
	"net"
	"os"
)

func main() {
	if len(os.Args) != 3 {
		os.Exit(2)
	}
	switch os.Args[1] {
	case "udp":
		pc, err := net.ListenPacket("udp", "0.0.0.0:"+os.Args[2])
		if err != nil {
			panic(err)
		}
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(append([]byte("echo:"), buf[:n]...), from)
		}
	case "unix":
		ln, err := net.Listen("unix", os.Args[2])
		if err != nil {
			panic(err)
		}
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = c.Write([]byte("echo:"))
				_, _ = io.Copy(c, c)
			}()
		}
	}
}

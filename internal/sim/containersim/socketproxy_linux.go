package containersim

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"
)

// startSocketProxies serves --publish-socket: the runtime listens on the
// host path and connects each client to the container's socket, reached
// through the init process's root (/proc/<pid>/root/<container path>), so
// sockets on the container's own tmpfs mounts work too.
func (p *portProxy) startSocketProxies(socks []PublishSocket, initPID int) error {
	for _, s := range socks {
		_ = os.Remove(s.HostPath) // a stale socket of an earlier run
		if err := os.MkdirAll(filepath.Dir(s.HostPath), 0o755); err != nil {
			return err
		}
		ln, err := net.Listen("unix", s.HostPath)
		if err != nil {
			return fmt.Errorf("publish socket %s: %w", s.HostPath, err)
		}
		p.closers = append(p.closers, ln)
		p.cleanup = append(p.cleanup, s.HostPath)
		target := fmt.Sprintf("/proc/%d/root%s", initPID, filepath.Clean("/"+s.ContainerPath))
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					up, err := net.DialTimeout("unix", target, 5*time.Second)
					if err != nil {
						return
					}
					defer up.Close()
					done := make(chan struct{}, 2)
					go func() { _, _ = io.Copy(up, c); closeWriteUnix(up); done <- struct{}{} }()
					go func() { _, _ = io.Copy(c, up); closeWriteUnix(c); done <- struct{}{} }()
					<-done
					<-done
				}()
			}
		}()
	}
	return nil
}

func closeWriteUnix(c net.Conn) {
	if uc, ok := c.(*net.UnixConn); ok {
		_ = uc.CloseWrite()
	}
}

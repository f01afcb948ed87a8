package containersim

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// portProxy forwards a published port: it listens in the host namespace and
// dials the container's address from inside the container's namespace (the
// analogue of vmnet's port forwarding to the VM's IP).
type portProxy struct {
	closers []io.Closer
	cleanup []string // socket files to remove on Close
	wg      sync.WaitGroup
}

// proxyListenAddr: the simulator only ever listens on loopback; a published
// 0.0.0.0 (the default) becomes 127.0.0.1 (documented in docs/container-sim.md).
func proxyListenAddr(hostAddr string, port int) string {
	ip := net.ParseIP(hostAddr)
	if ip == nil || !ip.IsLoopback() {
		hostAddr = "127.0.0.1"
	}
	return net.JoinHostPort(hostAddr, strconv.Itoa(port))
}

func startProxies(ports []PublishPort, nsPath, ctrIP string) (*portProxy, error) {
	p := &portProxy{}
	if ctrIP == "" {
		ctrIP = "127.0.0.1"
	}
	for _, pp := range ports {
		for i := 0; i < max(pp.Count, 1); i++ {
			listen := proxyListenAddr(pp.HostAddress, pp.HostPort+i)
			target := net.JoinHostPort(ctrIP, strconv.Itoa(pp.ContainerPort+i))
			var err error
			if pp.Proto == "udp" {
				err = p.udp(listen, target, nsPath)
			} else {
				err = p.tcp(listen, target, nsPath)
			}
			if err != nil {
				p.Close()
				return nil, fmt.Errorf("publish %s/%s: %w", listen, pp.Proto, err)
			}
		}
	}
	return p, nil
}

func (p *portProxy) tcp(listen, target, nsPath string) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	p.closers = append(p.closers, ln)
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
				var up net.Conn
				if err := inNetns(nsPath, func() error {
					var derr error
					up, derr = net.DialTimeout("tcp", target, 5*time.Second)
					return derr
				}); err != nil {
					return
				}
				defer up.Close()
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(up, c); closeWrite(up); done <- struct{}{} }()
				go func() { _, _ = io.Copy(c, up); closeWrite(c); done <- struct{}{} }()
				<-done
				<-done
			}()
		}
	}()
	return nil
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

func (p *portProxy) udp(listen, target, nsPath string) error {
	laddr, err := net.ResolveUDPAddr("udp", listen)
	if err != nil {
		return err
	}
	pc, err := net.ListenUDP("udp", laddr)
	if err != nil {
		return err
	}
	p.closers = append(p.closers, pc)
	var mu sync.Mutex
	sessions := map[string]*net.UDPConn{}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFromUDP(buf)
			if err != nil {
				mu.Lock()
				for _, s := range sessions {
					s.Close()
				}
				mu.Unlock()
				return
			}
			mu.Lock()
			up := sessions[from.String()]
			if up == nil {
				var c net.Conn
				if err := inNetns(nsPath, func() error {
					var derr error
					c, derr = net.Dial("udp", target)
					return derr
				}); err != nil {
					mu.Unlock()
					continue
				}
				up = c.(*net.UDPConn)
				sessions[from.String()] = up
				go func(from *net.UDPAddr, up *net.UDPConn) {
					b := make([]byte, 65535)
					for {
						_ = up.SetReadDeadline(time.Now().Add(2 * time.Minute))
						n, err := up.Read(b)
						if err != nil {
							mu.Lock()
							delete(sessions, from.String())
							mu.Unlock()
							up.Close()
							return
						}
						_, _ = pc.WriteToUDP(b[:n], from)
					}
				}(from, up)
			}
			mu.Unlock()
			_, _ = up.Write(buf[:n])
		}
	}()
	return nil
}

func (p *portProxy) Close() {
	if p == nil {
		return
	}
	for _, c := range p.closers {
		c.Close()
	}
	p.wg.Wait()
	for _, f := range p.cleanup {
		_ = os.Remove(f)
	}
}

package containersim

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// createNetns makes a network namespace bind-mounted at path with lo up
// and, when addr is valid, a dummy eth0 carrying addr (the container's IP
// lives only inside its namespace: the host never routes 192.168.64.x).
func createNetns(path string, addr netip.Prefix, gateway, mac string, mtu int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o444)
	if err != nil {
		return err
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		// This thread switches namespace and is never unlocked, so the Go
		// runtime discards it instead of reusing it elsewhere.
		runtime.LockOSThread()
		errc <- func() error {
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				return fmt.Errorf("unshare network namespace: %w", err)
			}
			self := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
			if err := unix.Mount(self, path, "", unix.MS_BIND, ""); err != nil {
				return fmt.Errorf("bind network namespace to %s: %w", path, err)
			}
			return configureNetns(addr, gateway, mac, mtu)
		}()
	}()
	if err := <-errc; err != nil {
		_ = removeNetns(path)
		return err
	}
	return nil
}

// configureNetns runs on a thread inside the new namespace.
func configureNetns(addr netip.Prefix, gateway, mac string, mtu int) error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("lo: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("lo up: %w", err)
	}
	if !addr.IsValid() {
		return nil
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = "eth0"
	attrs.MTU = defaultMTU
	if mtu > 0 {
		attrs.MTU = mtu
	}
	if hw, err := net.ParseMAC(mac); err == nil {
		attrs.HardwareAddr = hw
	}
	if err := netlink.LinkAdd(&netlink.Dummy{LinkAttrs: attrs}); err != nil {
		// Kernels without the dummy driver: a veth pair whose peer stays
		// inside the same namespace (it carries nothing anywhere).
		if verr := netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "vmnet0"}); verr != nil {
			return fmt.Errorf("add eth0: dummy: %v; veth: %w", err, verr)
		}
		if peer, err := netlink.LinkByName("vmnet0"); err == nil {
			_ = netlink.LinkSetUp(peer)
		}
	}
	eth, err := netlink.LinkByName("eth0")
	if err != nil {
		return err
	}
	if attrs.HardwareAddr != nil {
		_ = netlink.LinkSetHardwareAddr(eth, attrs.HardwareAddr)
	}
	ipn := &net.IPNet{IP: addr.Addr().AsSlice(), Mask: net.CIDRMask(addr.Bits(), 32)}
	if err := netlink.AddrAdd(eth, &netlink.Addr{IPNet: ipn}); err != nil {
		return fmt.Errorf("address %s: %w", addr, err)
	}
	if err := netlink.LinkSetUp(eth); err != nil {
		return fmt.Errorf("eth0 up: %w", err)
	}
	gw := net.ParseIP(gateway)
	if gw != nil {
		// The gateway answers nothing: traffic leaving the subnet is dropped
		// on the dummy link, never sent through the host.
		_ = netlink.RouteAdd(&netlink.Route{LinkIndex: eth.Attrs().Index, Gw: gw, Flags: int(netlink.FLAG_ONLINK)})
	}
	return nil
}

// removeNetns unmounts and removes a namespace created by createNetns.
func removeNetns(path string) error {
	err := unix.Unmount(path, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// inNetns runs fn on a thread switched into the namespace at path.
func inNetns(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- func() error {
			host, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
			if err != nil {
				return err
			}
			defer host.Close()
			target, err := os.Open(path)
			if err != nil {
				return err
			}
			defer target.Close()
			if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
				return fmt.Errorf("enter network namespace: %w", err)
			}
			ferr := fn()
			if err := unix.Setns(int(host.Fd()), unix.CLONE_NEWNET); err == nil {
				runtime.UnlockOSThread() // back home: the thread may be reused
			}
			return ferr
		}()
	}()
	return <-errc
}

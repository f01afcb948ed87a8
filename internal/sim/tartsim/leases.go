package tartsim

import (
	"bufio"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The simulated DHCP server keeps $TART_HOME/sim/dhcpd_leases in macOS
// bootpd's format, so `tart ip --resolver dhcp` works like the real one:
// it matches the VM's MAC and happily returns the unexpired lease of a
// stopped VM (tart-cli.md §7).

type lease struct {
	name   string
	ip     string
	mac    string // without the "1," prefix
	expiry time.Time
}

func (h *home) readLeases() ([]lease, error) {
	f, err := os.Open(h.leasesPath())
	if err != nil {
		if isNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	var out []lease
	var cur *lease
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "{":
			cur = &lease{}
		case line == "}":
			if cur != nil {
				out = append(out, *cur)
			}
			cur = nil
		case cur != nil:
			k, v, _ := strings.Cut(line, "=")
			switch k {
			case "name":
				cur.name = v
			case "ip_address":
				cur.ip = v
			case "hw_address":
				cur.mac = strings.TrimPrefix(v, "1,")
			case "lease":
				n, _ := strconv.ParseInt(strings.TrimPrefix(v, "0x"), 16, 64)
				cur.expiry = time.Unix(n, 0)
			}
		}
	}
	return out, sc.Err()
}

// publishLease records (or renews) the lease of mac under the leases lock.
func (h *home) publishLease(l lease) error {
	if err := os.MkdirAll(h.simDir(), 0o755); err != nil {
		return err
	}
	lockPath := h.leasesPath() + ".lock"
	if f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDONLY, 0o644); err == nil {
		f.Close()
	}
	lk, err := flockPath(lockPath, true)
	if err != nil {
		return err
	}
	defer lk.unlock()
	all, err := h.readLeases()
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, x := range append([]lease{l}, all...) {
		if x != l && (macEqual(x.mac, l.mac) || x.ip == l.ip || x.expiry.Before(time.Now())) {
			continue // replaced by the new lease, or expired
		}
		fmt.Fprintf(&b, "{\n\tname=%s\n\tip_address=%s\n\thw_address=1,%s\n\tidentifier=1,%s\n\tlease=0x%x\n}\n",
			x.name, x.ip, x.mac, x.mac, x.expiry.Unix())
	}
	tmp := h.leasesPath() + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, h.leasesPath())
}

// macEqual compares MACs numerically per component (so "9" equals "09").
func macEqual(a, b string) bool {
	pa, pb := strings.Split(a, ":"), strings.Split(b, ":")
	if len(pa) != 6 || len(pb) != 6 {
		return false
	}
	for i := range pa {
		x, err1 := strconv.ParseUint(pa[i], 16, 8)
		y, err2 := strconv.ParseUint(pb[i], 16, 8)
		if err1 != nil || err2 != nil || x != y {
			return false
		}
	}
	return true
}

// leaseFor returns the unexpired lease of mac with the latest expiry.
func (h *home) leaseFor(mac string) (lease, bool, error) {
	all, err := h.readLeases()
	if err != nil {
		return lease{}, false, err
	}
	sort.Slice(all, func(i, j int) bool { return all[i].expiry.After(all[j].expiry) })
	now := time.Now()
	for _, l := range all {
		if macEqual(l.mac, mac) && l.expiry.After(now) {
			return l, true, nil
		}
	}
	return lease{}, false, nil
}

// ipReservation holds an address for one running VM, machine-wide: an
// flock on /tmp/tart-sim-ips/<ip>.lock, dropped by the kernel when the
// `tart run` process dies. Machine-wide because tests with different
// TART_HOMEs run side by side and every guest listens on <ip>:22.
type ipReservation struct {
	ip     string
	path   string
	lock   *fileLock // nil when shared
	shared bool      // the address of a running VM with the same MAC (not ours to free)
}

func reservationDir() string {
	if st, err := os.Stat("/tmp"); err == nil && st.IsDir() {
		return "/tmp/tart-sim-ips"
	}
	return filepath.Join(os.TempDir(), "tart-sim-ips")
}

func tryReserve(ip string) *ipReservation {
	dir := reservationDir()
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil
	}
	_ = os.Chmod(dir, 0o1777)
	p := filepath.Join(dir, ip+".lock")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDONLY, 0o666)
	if err != nil {
		return nil
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil
	}
	// The previous holder may have unlinked the file between our open and
	// our lock: then we hold a lock nobody else can see. Check it is still
	// the file at p.
	var held, current unix.Stat_t
	if unix.Fstat(int(f.Fd()), &held) != nil || unix.Stat(p, &current) != nil || held.Ino != current.Ino || held.Dev != current.Dev {
		f.Close()
		return nil
	}
	return &ipReservation{ip: ip, path: p, lock: &fileLock{f: f}}
}

// sweepStaleReservations removes reservation files nobody holds (left by
// SIGKILLed runs), a bounded number per call. Safe against racing
// reservers: they re-check the inode after locking (see tryReserve).
func sweepStaleReservations(limit int) {
	dir := reservationDir()
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, ent := range ents {
		if limit == 0 {
			return
		}
		p := filepath.Join(dir, ent.Name())
		lk, err := flockPath(p, false)
		if err != nil || lk == nil {
			continue
		}
		_ = os.Remove(p)
		lk.unlock()
		limit--
	}
}

// release removes the lock file (so /tmp does not fill up) and then unlocks.
func (r *ipReservation) release() {
	if r.shared {
		return
	}
	_ = os.Remove(r.path)
	r.lock.unlock()
}

// reserveIP picks the VM's address: its previous lease if that address is
// free (like a DHCP server would), else a random free 127.64.0.0/10 address
// not leased to another MAC.
//
// sharedIP (from runningIPOfMAC) is the address of a running VM with the
// same MAC: bootpd is one per Mac and leases by MAC, so this VM gets that
// address too, whatever TART_HOME it lives in.
func (h *home) reserveIP(mac, sharedIP string) (*ipReservation, error) {
	if sharedIP != "" {
		return &ipReservation{ip: sharedIP, shared: true}, nil
	}
	r, err := h.reserveFreeIP(mac)
	if err == nil {
		// Record the holder's MAC in the lock file for runningIPOfMAC.
		_ = os.WriteFile(r.path, []byte(mac), 0o666)
	}
	return r, err
}

// runningIPOfMAC finds a held reservation (a running VM anywhere on this
// machine) whose recorded MAC is mac.
func runningIPOfMAC(mac string) (string, bool) {
	dir := reservationDir()
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", false
	}
	for _, ent := range ents {
		ip, ok := strings.CutSuffix(ent.Name(), ".lock")
		if !ok {
			continue
		}
		p := filepath.Join(dir, ent.Name())
		b, err := os.ReadFile(p)
		if err != nil || !macEqual(strings.TrimSpace(string(b)), mac) {
			continue
		}
		lk, err := flockPath(p, false)
		if err != nil {
			continue
		}
		if lk != nil { // nobody holds it: left by a killed run
			lk.unlock()
			continue
		}
		return ip, true
	}
	return "", false
}

func (h *home) reserveFreeIP(mac string) (*ipReservation, error) {
	all, _ := h.readLeases()
	now := time.Now()
	leasedToOther := map[string]bool{}
	for _, l := range all {
		if macEqual(l.mac, mac) {
			if r := tryReserve(l.ip); r != nil {
				return r, nil
			}
		} else if l.expiry.After(now) {
			leasedToOther[l.ip] = true
		}
	}
	for i := 0; i < 10000; i++ {
		ip := net.IPv4(127, byte(64+mrand.IntN(64)), byte(mrand.IntN(256)), byte(2+mrand.IntN(253))).String()
		if leasedToOther[ip] {
			continue
		}
		if r := tryReserve(ip); r != nil {
			sweepStaleReservations(64)
			return r, nil
		}
	}
	return nil, fmt.Errorf("no free 127.64.0.0/10 address")
}

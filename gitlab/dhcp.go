package gitlab

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
)

// dhcpLeaseLimit: leases at least this long exhaust the NAT range (about
// 253 VMs a day with macOS's default of 86400 s; field notes §5.3).
const dhcpLeaseLimit = 3600

// dhcpLeaseWarning returns a job-log warning when the host still hands out
// long DHCP leases on the default NAT network, "" otherwise. Only on macOS
// hosts with NAT networking (Softnet shortens leases itself).
func dhcpLeaseWarning(s *Settings) string {
	if runtime.GOOS != "darwin" {
		return ""
	}
	return dhcpLeaseCheck(s.Network, s.InternetSharingPlist, readPlistXML)
}

// dhcpLeaseCheck is the testable core: read returns the plist as XML.
func dhcpLeaseCheck(network, plistPath string, read func(string) ([]byte, error)) string {
	if network != "nat" {
		return ""
	}
	secs := 86400 // bootpd's default when nothing is configured
	if b, err := read(plistPath); err == nil {
		if n, ok := leaseFromPlist(b); ok {
			secs = n
		}
	}
	if secs < dhcpLeaseLimit {
		return ""
	}
	return "The host's DHCP lease time is " + strconv.Itoa(secs) + " s: about 253 VMs a day exhaust the NAT address range and new VMs get no IP. Fix: sudo defaults write " + plistPath + " bootpd -dict DHCPLeaseTimeSecs -int 600"
}

var leaseRE = regexp.MustCompile(`<key>DHCPLeaseTimeSecs</key>\s*<integer>(\d+)</integer>`)

func leaseFromPlist(xml []byte) (int, bool) {
	m := leaseRE.FindSubmatch(xml)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(string(m[1]))
	return n, err == nil
}

// readPlistXML reads a plist, converting a binary one with plutil.
func readPlistXML(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(b, []byte("bplist")) {
		return exec.Command("/usr/bin/plutil", "-convert", "xml1", "-o", "-", path).Output()
	}
	return b, nil
}

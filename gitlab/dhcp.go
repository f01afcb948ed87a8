package gitlab

import (
	"bytes"
	"os"
	"os/exec"
	"runtime"

	"github.com/tartanhq/tartan/tart"
)

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
	b, _ := read(plistPath) // unreadable: bootpd's default applies
	return tart.DHCPLeaseWarning(tart.DHCPLeaseSeconds(b), plistPath)
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

package tart

import (
	"regexp"
	"strconv"
)

// The default NAT network (vmnet, 192.168.64.0/24) has about 253 addresses
// and macOS's bootpd keeps each lease for a day unless told otherwise, so a
// host starting many short-lived VMs runs out of addresses (Tart FAQ, field
// notes §5.3). Every Tartan component warns by this one rule.
const (
	// InternetSharingPlist holds bootpd's settings on macOS.
	InternetSharingPlist = "/Library/Preferences/SystemConfiguration/com.apple.InternetSharing.default.plist"
	// DefaultDHCPLeaseSecs is bootpd's lease time when nothing is set.
	DefaultDHCPLeaseSecs = 86400
	// DHCPLeaseWarnSecs: leases this long or longer are warned about. With
	// an hour, ~253 VM starts an hour already exhaust the range, which a
	// busy CI host reaches; the recommended value is 600 s.
	DHCPLeaseWarnSecs = 3600
)

// Both shapes a lease time is read in: plist XML, and the text of
// `defaults read <plist> bootpd`.
var (
	leasePlistRE    = regexp.MustCompile(`<key>DHCPLeaseTimeSecs</key>\s*<integer>(\d+)</integer>`)
	leaseDefaultsRE = regexp.MustCompile(`DHCPLeaseTimeSecs"?\s*=\s*(\d+)`)
)

// DHCPLeaseSeconds reads DHCPLeaseTimeSecs from plist XML or `defaults
// read` output; when absent it is bootpd's default.
func DHCPLeaseSeconds(text []byte) int {
	for _, re := range []*regexp.Regexp{leasePlistRE, leaseDefaultsRE} {
		if m := re.FindSubmatch(text); m != nil {
			if n, err := strconv.Atoi(string(m[1])); err == nil {
				return n
			}
		}
	}
	return DefaultDHCPLeaseSecs
}

// DHCPLeaseWarning is the warning for a lease time of secs read from
// plist, or "" when the lease is short enough.
func DHCPLeaseWarning(secs int, plist string) string {
	if secs < DHCPLeaseWarnSecs {
		return ""
	}
	return "The host's DHCP lease time is " + strconv.Itoa(secs) + " s: about 253 VMs started within that time exhaust the NAT address range (192.168.64.0/24) and new VMs get no IP. Fix: sudo defaults write " + plist + " bootpd -dict DHCPLeaseTimeSecs -int 600"
}

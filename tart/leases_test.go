package tart

import (
	"strings"
	"testing"
)

func TestDHCPLeaseRule(t *testing.T) {
	xml := []byte("<dict><key>bootpd</key><dict><key>DHCPLeaseTimeSecs</key>\n<integer>600</integer></dict></dict>")
	defaults := []byte("{\n    DHCPLeaseTimeSecs = 7200;\n}\n")
	for _, c := range []struct {
		text []byte
		secs int
		warn bool
	}{
		{xml, 600, false},
		{defaults, 7200, true},
		{nil, DefaultDHCPLeaseSecs, true},
		{[]byte("DHCPLeaseTimeSecs = 3599;"), 3599, false},
		{[]byte("DHCPLeaseTimeSecs = 3600;"), 3600, true},
	} {
		secs := DHCPLeaseSeconds(c.text)
		w := DHCPLeaseWarning(secs, InternetSharingPlist)
		if secs != c.secs || (w != "") != c.warn {
			t.Errorf("%q: %d s, warning %q; want %d s, warning %v", c.text, secs, w, c.secs, c.warn)
		}
		if c.warn && !strings.Contains(w, "DHCPLeaseTimeSecs -int 600") {
			t.Errorf("warning lacks the fix: %q", w)
		}
	}
}

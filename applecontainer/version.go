package applecontainer

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/tartanhq/tartan/internal/cliproc"
)

// Version is a release of Apple's container CLI.
type Version struct {
	Major, Minor, Patch int
	Raw                 string // as printed (`container --version` line or bare version)
}

// MinimumVersion is the oldest container release this client is meant for:
// 1.0.0 reshaped the JSON output (this package still parses the older shapes),
// made inspect of a missing ID an error, and since 0.10.0 stop/kill/delete of
// unknown IDs fail instead of silently succeeding. Client.CheckVersion refuses
// anything older; individual methods only check the features they use.
var MinimumVersion = mustVersion("1.0.0")

var versionRe = regexp.MustCompile(`(?:^|\s|v)(\d+)\.(\d+)(?:\.(\d+))?(?:[-+][0-9A-Za-z.-]+)?(?:\s|$|\))`)

// ParseVersion reads `container --version` output ("container CLI version
// 1.2.2 (build: release, commit: 3c4c59c)"), the apiserver's line
// ("container-apiserver version 1.2.2 (...)") or a bare "1.2.2".
func ParseVersion(s string) (Version, error) {
	raw := strings.TrimSpace(s)
	if raw == "" {
		return Version{}, fmt.Errorf("empty container version string")
	}
	probe := raw
	if i := strings.Index(probe, "version "); i >= 0 {
		probe = probe[i+len("version "):]
	}
	m := versionRe.FindStringSubmatch(probe)
	if m == nil {
		return Version{}, fmt.Errorf("unrecognised container version %q (want e.g. \"container CLI version 1.2.2 (build: release, commit: 3c4c59c)\")", raw)
	}
	var n [3]int
	for i, p := range m[1:4] {
		if p == "" {
			continue
		}
		v, err := strconv.Atoi(p)
		if err != nil {
			return Version{}, fmt.Errorf("unrecognised container version %q", raw)
		}
		n[i] = v
	}
	return Version{Major: n[0], Minor: n[1], Patch: n[2], Raw: raw}, nil
}

func mustVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Compare returns -1, 0 or +1.
func (v Version) Compare(o Version) int {
	return cliproc.CompareReleases([3]int{v.Major, v.Minor, v.Patch}, [3]int{o.Major, o.Minor, o.Patch})
}

// AtLeast reports v >= o.
func (v Version) AtLeast(o Version) bool { return v.Compare(o) >= 0 }

// IsZero reports whether v is the zero Version (not detected).
func (v Version) IsZero() bool { return v == Version{} }

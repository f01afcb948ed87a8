package tart

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tartanhq/tartan/internal/cliproc"
)

// Version is a tart release. Dev builds report "SNAPSHOT" and count as
// newer than any release.
type Version struct {
	Major, Minor, Patch int
	Snapshot            bool
	Raw                 string // as printed by `tart --version`
}

// ParseVersion reads the output of `tart --version` ("2.32.1", "SNAPSHOT",
// "2.32.1-1-g5287b59", "v2.32.1").
func ParseVersion(s string) (Version, error) {
	raw := strings.TrimSpace(s)
	if raw == "" {
		return Version{}, fmt.Errorf("empty tart version string")
	}
	if strings.EqualFold(raw, "SNAPSHOT") {
		return Version{Snapshot: true, Raw: raw}, nil
	}
	core := strings.TrimPrefix(raw, "v")
	if i := strings.IndexAny(core, "-+ "); i >= 0 {
		core = core[:i]
	}
	parts := strings.Split(core, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Version{}, fmt.Errorf("unrecognised tart version %q (want MAJOR.MINOR.PATCH or SNAPSHOT)", raw)
	}
	nums := [3]int{}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return Version{}, fmt.Errorf("unrecognised tart version %q (want MAJOR.MINOR.PATCH or SNAPSHOT)", raw)
		}
		nums[i] = n
	}
	return Version{Major: nums[0], Minor: nums[1], Patch: nums[2], Raw: raw}, nil
}

func mustVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

func (v Version) String() string {
	if v.Snapshot {
		return "SNAPSHOT"
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// Compare returns -1, 0 or +1. SNAPSHOT is greater than every release.
func (v Version) Compare(o Version) int {
	switch {
	case v.Snapshot && o.Snapshot:
		return 0
	case v.Snapshot:
		return 1
	case o.Snapshot:
		return -1
	}
	return cliproc.CompareReleases([3]int{v.Major, v.Minor, v.Patch}, [3]int{o.Major, o.Minor, o.Patch})
}

// AtLeast reports v >= o.
func (v Version) AtLeast(o Version) bool { return v.Compare(o) >= 0 }

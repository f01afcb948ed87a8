package imagestore

import (
	"fmt"
	"runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Platform is an image variant's platform as container prints it.
type Platform struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
}

func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// HostPlatform is linux/<runtime.GOARCH>: what `run` and Unpack default to.
func HostPlatform() Platform { return Platform{OS: "linux", Architecture: runtime.GOARCH} }

// ParsePlatform parses "os/arch[/variant]" (e.g. linux/arm64, linux/arm/v7).
func ParsePlatform(s string) (Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return Platform{}, fmt.Errorf("invalid platform %q: want os/arch[/variant], e.g. linux/arm64", s)
	}
	p := Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// matches: OS and architecture equal; a requested variant must match
// (arm64's implicit variant is v8).
func (p Platform) matches(got Platform) bool {
	if p.OS != got.OS || p.Architecture != got.Architecture {
		return false
	}
	if p.Variant == "" {
		return true
	}
	norm := func(q Platform) string {
		if q.Architecture == "arm64" && q.Variant == "" {
			return "v8"
		}
		return q.Variant
	}
	return norm(p) == norm(got)
}

func fromV1Platform(p *v1.Platform) Platform {
	if p == nil {
		return Platform{}
	}
	return Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}
}

func configPlatform(cf *v1.ConfigFile) Platform {
	return Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
}

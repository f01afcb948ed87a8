package tartdriver

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// diskOptions is the parsed form of disk_mount.options and root_disk_options
// ("ro,sync=none,caching=cached").
type diskOptions struct {
	ReadOnly bool
	Sync     string // "" = tart's default
	Caching  string
}

var (
	syncModes    = map[string]bool{"none": true, "fsync": true, "full": true}
	cachingModes = map[string]bool{"automatic": true, "cached": true, "uncached": true}
)

// parseDiskOptions validates a comma-separated option list the way tart
// would, but before a VM is cloned, so that a typo costs no clone.
func parseDiskOptions(option, s string) (diskOptions, error) {
	var o diskOptions
	for _, part := range splitList(s) {
		key, val, hasVal := strings.Cut(part, "=")
		switch {
		case key == "ro" && !hasVal:
			o.ReadOnly = true
		case key == "sync" && syncModes[val]:
			o.Sync = val
		case key == "caching" && cachingModes[val]:
			o.Caching = val
		case key == "sync":
			return o, badOption(option, s, "sync must be one of none, fsync, full")
		case key == "caching":
			return o, badOption(option, s, "caching must be one of automatic, cached, uncached")
		default:
			return o, badOption(option, s, "unknown option %q (allowed: ro, sync=none|fsync|full, caching=automatic|cached|uncached)", part)
		}
	}
	return o, nil
}

// shareOptions is the parsed form of dir_share.options ("ro,tag=src").
type shareOptions struct {
	ReadOnly bool
	Tag      string
}

func parseShareOptions(s string) (shareOptions, error) {
	var o shareOptions
	for _, part := range splitList(s) {
		key, val, hasVal := strings.Cut(part, "=")
		switch {
		case key == "ro" && !hasVal:
			o.ReadOnly = true
		case key == "tag" && val != "":
			o.Tag = val
		default:
			return o, badOption("dir_share.options", s, "unknown option %q (allowed: ro, tag=<TAG>)", part)
		}
	}
	return o, nil
}

var shareNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// reservedShares are the share names the driver uses for Nomad's task dirs.
var reservedShares = map[string]bool{"alloc": true, "local": true, "secrets": true}

// exposeRE matches one softnet port forward, "external:internal".
var exposeRE = regexp.MustCompile(`^([0-9]{1,5}):([0-9]{1,5})$`)

func parseExposeList(s string) ([]string, error) {
	var out []string
	for _, part := range splitList(s) {
		m := exposeRE.FindStringSubmatch(part)
		if m == nil {
			return nil, badOption("net_softnet_expose", s, "%q is not of the form <host port>:<guest port>", part)
		}
		for _, p := range m[1:] {
			if n, _ := strconv.Atoi(p); n < 1 || n > 65535 {
				return nil, badOption("net_softnet_expose", s, "port %s out of range 1-65535", p)
			}
		}
		out = append(out, part)
	}
	return out, nil
}

var cidrRE = regexp.MustCompile(`^[0-9a-fA-F:.]+/[0-9]{1,3}$`)

func parseCIDRList(option, s string) ([]string, error) {
	var out []string
	for _, part := range splitList(s) {
		if !cidrRE.MatchString(part) {
			return nil, badOption(option, s, "%q is not a CIDR such as 10.0.0.0/8", part)
		}
		out = append(out, part)
	}
	return out, nil
}

var displayRE = regexp.MustCompile(`^[0-9]{2,5}x[0-9]{2,5}(pt|px)?$`)

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// globMatch reports whether name matches pattern, where '*' matches any run
// of characters including '/', so "ghcr.io/cirruslabs/*" covers every image
// of that organisation.
func globMatch(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	for i, p := range parts[1:] {
		last := i == len(parts)-2
		if last {
			return strings.HasSuffix(name, p)
		}
		idx := strings.Index(name, p)
		if idx < 0 {
			return false
		}
		name = name[idx+len(p):]
	}
	return true
}

// imageAllowed applies the plugin's deny list first, then its allow list.
func imageAllowed(image string, allowed, denied []string) error {
	for _, p := range denied {
		if globMatch(p, image) {
			return fmt.Errorf("%w: %q matches denied_images pattern %q", ErrImageNotAllowed, image, p)
		}
	}
	if len(allowed) == 0 {
		return nil
	}
	for _, p := range allowed {
		if globMatch(p, image) {
			return nil
		}
	}
	return fmt.Errorf("%w: %q matches none of allowed_images %q", ErrImageNotAllowed, image, allowed)
}

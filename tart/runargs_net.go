package tart

import (
	"net/netip"
	"strconv"
	"strings"
)

// Networking flags of `tart run`.

// netMode resolves the effective network mode and rejects mixtures.
func netMode(n Network) (NetMode, error) {
	softnetOpts := len(n.SoftnetAllow) > 0 || len(n.SoftnetBlock) > 0 || len(n.SoftnetExpose) > 0
	bridged := len(n.Bridged) > 0
	if bridged && softnetOpts {
		return "", usagef("network: bridged interfaces and softnet options are mutually exclusive (tart: --net-bridged, --net-softnet and --net-host are mutually exclusive)")
	}
	mode := n.Mode
	switch mode {
	case "", "shared":
		switch {
		case bridged:
			mode = NetBridged
		case softnetOpts:
			mode = NetSoftnet
		default:
			mode = NetShared
		}
	case NetBridged:
		if !bridged {
			return "", usagef("network: mode bridged needs at least one interface in Bridged, e.g. \"en0\"")
		}
		if softnetOpts {
			return "", usagef("network: softnet options cannot be used with mode bridged")
		}
	case NetSoftnet:
		if bridged {
			return "", usagef("network: Bridged interfaces cannot be used with mode softnet")
		}
	case NetHost:
		if bridged || softnetOpts {
			return "", usagef("network: mode host cannot be combined with Bridged or softnet options (tart: --net-bridged, --net-softnet and --net-host are mutually exclusive)")
		}
	default:
		return "", usagef("network mode %q is invalid; use shared (\"\"), bridged, softnet or host", string(mode))
	}
	return mode, nil
}

func netArgs(n Network) ([]string, error) {
	mode, err := netMode(n)
	if err != nil {
		return nil, err
	}
	var args []string
	switch mode {
	case NetBridged:
		for _, ifc := range n.Bridged {
			if strings.TrimSpace(ifc) == "" {
				return nil, usagef("network: empty bridged interface name; use e.g. \"en0\"")
			}
			args = append(args, "--net-bridged", ifc)
		}
	case NetHost:
		args = append(args, "--net-host")
	case NetSoftnet:
		// Explicit --net-softnet: before 2.24.0 the sub-options did not imply it.
		args = append(args, "--net-softnet")
		if len(n.SoftnetAllow) > 0 {
			v, err := cidrList("SoftnetAllow", n.SoftnetAllow)
			if err != nil {
				return nil, err
			}
			args = append(args, "--net-softnet-allow", v)
		}
		if len(n.SoftnetBlock) > 0 {
			v, err := cidrList("SoftnetBlock", n.SoftnetBlock)
			if err != nil {
				return nil, err
			}
			args = append(args, "--net-softnet-block", v)
		}
		if len(n.SoftnetExpose) > 0 {
			v, err := exposeList(n.SoftnetExpose)
			if err != nil {
				return nil, err
			}
			args = append(args, "--net-softnet-expose", v)
		}
	}
	return args, nil
}

func cidrList(field string, cidrs []string) (string, error) {
	for _, c := range cidrs {
		if _, err := netip.ParsePrefix(c); err != nil {
			return "", usagef("network: %s entry %q is not a CIDR; use e.g. 10.0.0.0/8", field, c)
		}
	}
	return strings.Join(cidrs, ","), nil
}

func exposeList(pairs []string) (string, error) {
	for _, p := range pairs {
		ext, in, ok := strings.Cut(p, ":")
		if !ok || !validPort(ext) || !validPort(in) {
			return "", usagef("network: SoftnetExpose entry %q is invalid; use EXTERNAL:INTERNAL TCP ports, e.g. 2222:22", p)
		}
	}
	return strings.Join(pairs, ","), nil
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535 && strconv.Itoa(n) == s
}

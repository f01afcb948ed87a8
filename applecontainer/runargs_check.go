package applecontainer

import (
	"net/netip"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

func checkEnv(o RunOptions) error {
	for _, kv := range o.Env {
		k, _, _ := strings.Cut(kv, "=")
		if k == "" || strings.ContainsAny(k, " \t\n") {
			return inputf("Env", "entry %q needs a variable name: use KEY=VALUE (or KEY to inherit it from the CLI's environment)", redactEnv(kv))
		}
	}
	return nil
}

func checkEnvFiles(o RunOptions) error {
	for _, f := range o.EnvFiles {
		if f == "" {
			return inputf("EnvFiles", "empty path")
		}
	}
	return nil
}

var volumeNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// checkVolumes: "/ctr" (anonymous), "name:/ctr[:opts]", "/host:/ctr[:opts]".
// Relative host paths are refused: they would resolve against the CLI's
// working directory, not anything the caller controls.
func checkVolumes(o RunOptions) error {
	for _, spec := range o.Volumes {
		parts := strings.Split(spec, ":")
		switch len(parts) {
		case 1:
			if !path.IsAbs(spec) {
				return inputf("Volumes", "%q: a single path is an anonymous volume and must be an absolute container path", spec)
			}
		case 2, 3:
			src, dst := parts[0], parts[1]
			if !path.IsAbs(src) && !volumeNameRe.MatchString(src) {
				return inputf("Volumes", "%q: the source %q must be an absolute host path or a volume name", spec, src)
			}
			if !path.IsAbs(dst) {
				return inputf("Volumes", "%q: the container path %q must be absolute", spec, dst)
			}
			if len(parts) == 3 && parts[2] == "" {
				return inputf("Volumes", "%q: empty options after the last ':'", spec)
			}
		default:
			return inputf("Volumes", "%q has too many ':'; use /host:/container[:ro] or name:/container[:opts]", spec)
		}
	}
	return nil
}

func mountValues(o RunOptions) []string {
	var out []string
	for _, m := range o.Mounts {
		s := "type=" + m.Type
		if m.Source != "" {
			s += ",source=" + m.Source
		}
		s += ",target=" + m.Target
		if m.ReadOnly {
			s += ",readonly"
		}
		out = append(out, s)
	}
	return out
}

func checkMounts(o RunOptions) error {
	for i, m := range o.Mounts {
		opt := "Mounts[" + strconv.Itoa(i) + "]"
		if strings.ContainsAny(m.Source+m.Target, ",") {
			return inputf(opt, "source/target must not contain ','")
		}
		if !path.IsAbs(m.Target) {
			return inputf(opt, "target %q must be an absolute container path", m.Target)
		}
		switch m.Type {
		case "bind", "virtiofs":
			if !path.IsAbs(m.Source) {
				return inputf(opt, "%s source %q must be an absolute host directory", m.Type, m.Source)
			}
		case "volume":
			if !volumeNameRe.MatchString(m.Source) {
				return inputf(opt, "volume source %q must be a volume name", m.Source)
			}
		case "tmpfs":
			if m.Source != "" {
				return inputf(opt, "tmpfs takes no source (got %q)", m.Source)
			}
		default:
			return inputf(opt, "type %q is invalid; use bind, virtiofs, tmpfs or volume", m.Type)
		}
	}
	return nil
}

func checkTmpfs(o RunOptions) error {
	for _, p := range o.Tmpfs {
		if !path.IsAbs(p) || strings.Contains(p, ":") {
			return inputf("Tmpfs", "%q must be an absolute container path (the CLI takes no tmpfs options)", p)
		}
	}
	return nil
}

// maxPublish is the CLI's limit on -p specs.
const maxPublish = 64

func publishValues(o RunOptions) []string {
	var out []string
	for _, p := range o.Publish {
		s := strconv.Itoa(p.HostPort) + ":" + strconv.Itoa(p.ContainerPort)
		if p.HostIP != "" {
			host := p.HostIP
			if strings.Contains(host, ":") {
				host = "[" + host + "]"
			}
			s = host + ":" + s
		}
		if p.Proto != "" {
			s += "/" + p.Proto
		}
		out = append(out, s)
	}
	return out
}

func checkPublish(o RunOptions) error {
	if len(o.Publish) > maxPublish {
		return inputf("Publish", "%d ports given; the container CLI accepts at most %d", len(o.Publish), maxPublish)
	}
	type key struct {
		ip    string
		port  int
		proto string
	}
	seen := map[key]bool{}
	ports := map[portProto]bool{}
	for i, p := range o.Publish {
		opt := "Publish[" + strconv.Itoa(i) + "]"
		for _, n := range []struct {
			what string
			v    int
		}{{"host port", p.HostPort}, {"container port", p.ContainerPort}} {
			if n.v <= 1 || n.v > 65535 {
				return inputf(opt, "%s %d is out of range; the container CLI needs 2..65535", n.what, n.v)
			}
		}
		proto := p.Proto
		switch proto {
		case "":
			proto = "tcp"
		case "tcp", "udp":
		default:
			return inputf(opt, "protocol %q is invalid; use tcp or udp", p.Proto)
		}
		ip := "0.0.0.0"
		if p.HostIP != "" {
			a, err := netip.ParseAddr(strings.Trim(p.HostIP, "[]"))
			if err != nil || a.Zone() != "" {
				return inputf(opt, "host IP %q is not an IP address", p.HostIP)
			}
			ip = a.String()
		}
		// The wildcard overlaps every specific address of the same port.
		pp := portProto{p.HostPort, proto}
		if seen[key{ip, p.HostPort, proto}] || seen[key{"0.0.0.0", p.HostPort, proto}] || (ip == "0.0.0.0" && ports[pp]) {
			return inputf(opt, "host port %d/%s is published twice (overlapping publish specs are rejected)", p.HostPort, proto)
		}
		seen[key{ip, p.HostPort, proto}] = true
		ports[pp] = true
	}
	return nil
}

type portProto struct {
	port  int
	proto string
}

// networkSpec is a parsed --network value.
type networkSpec struct {
	name, mac, mtu string
	bad            string // unknown option
}

func parseNetworkSpec(s string) networkSpec {
	parts := strings.Split(s, ",")
	ns := networkSpec{name: parts[0]}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "mac":
			ns.mac = v
		case "mtu":
			ns.mtu = v
		default:
			ns.bad = p
		}
	}
	return ns
}

var (
	networkNameRe = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?$`)
	macRe         = regexp.MustCompile(`^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$`)
)

const noHostNetworking = "Apple container has no host networking and no joining another container's or task's network (every container is its own VM); use \"default\", \"none\" or a network made with `container network create`"

func checkNetworks(o RunOptions) error {
	for _, n := range o.Networks {
		ns := parseNetworkSpec(n)
		switch {
		case ns.name == "host" || strings.Contains(ns.name, ":"):
			return inputf("Networks", "%q: %s", n, noHostNetworking)
		case !networkNameRe.MatchString(ns.name):
			return inputf("Networks", "%q is not a valid network name (lowercase letters, digits, '.', '_', '-', at most 63)", ns.name)
		case ns.bad != "":
			return inputf("Networks", "%q: unknown option %q; only mac= and mtu= are accepted", n, ns.bad)
		case ns.mac != "" && !macRe.MatchString(ns.mac):
			return inputf("Networks", "%q: mac %q is not a MAC address (XX:XX:XX:XX:XX:XX)", n, ns.mac)
		case ns.mtu != "":
			if m, err := strconv.Atoi(ns.mtu); err != nil || m < 1280 || m > 65535 {
				return inputf("Networks", "%q: mtu %q must be 1280..65535", n, ns.mtu)
			}
		}
		if ns.name == "none" && len(o.Networks) > 1 {
			return inputf("Networks", "\"none\" cannot be combined with other networks")
		}
	}
	return nil
}

func checkDNS(o RunOptions) error {
	for _, s := range o.DNS {
		if _, err := netip.ParseAddr(s); err != nil {
			return inputf("DNS", "%q is not an IP address", s)
		}
	}
	return nil
}

func checkNoDNS(o RunOptions) error {
	if len(o.DNS)+len(o.DNSSearch)+len(o.DNSOptions) > 0 || o.DNSDomain != "" {
		return inputf("NoDNS", "conflicts with DNS, DNSDomain, DNSSearch and DNSOptions; drop one side")
	}
	return nil
}

func labelValues(o RunOptions) []string {
	keys := make([]string, 0, len(o.Labels))
	for k := range o.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if v := o.Labels[k]; v != "" {
			out = append(out, k+"="+v)
		} else {
			out = append(out, k)
		}
	}
	return out
}

func checkLabels(o RunOptions) error {
	for k, v := range o.Labels {
		switch {
		case k == "":
			return inputf("Labels", "empty label key")
		case strings.Contains(k, "="), strings.Contains(v, "="):
			return inputf("Labels", "%q=%q: the container CLI rejects labels with more than one '=' (invalid label format); remove '=' from the key and value", k, v)
		}
	}
	return nil
}

var capRe = regexp.MustCompile(`^(?i:(?:CAP_)?[A-Z_]+|ALL)$`)

func checkCaps(o RunOptions) error {
	for _, c := range append(slicesClone(o.CapAdd), o.CapDrop...) {
		if !capRe.MatchString(c) {
			return inputf("CapAdd/CapDrop", "%q is not a capability name (CAP_X, X or ALL)", c)
		}
	}
	return nil
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

var platformRe = regexp.MustCompile(`^[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?$`)

func checkPlatform(o RunOptions) error {
	if !platformRe.MatchString(o.Platform) {
		return inputf("Platform", "%q is not os/arch[/variant] (e.g. linux/arm64)", o.Platform)
	}
	return nil
}

var sizeRe = regexp.MustCompile(`^(?i:[0-9]+(?:[kmgtp](?:i?b)?|b)?)$`)

func checkShmSize(o RunOptions) error {
	if !sizeRe.MatchString(o.ShmSize) {
		return inputf("ShmSize", "%q is not a size (e.g. 64M, 1g, 1048576)", o.ShmSize)
	}
	return nil
}

var ulimitTypes = map[string]bool{
	"core": true, "cpu": true, "data": true, "fsize": true, "locks": true, "memlock": true, "msgqueue": true,
	"nice": true, "nofile": true, "nproc": true, "rss": true, "rtprio": true, "rttime": true, "sigpending": true, "stack": true,
}

var ulimitValueRe = regexp.MustCompile(`^(?:unlimited|-1|[0-9]+)(?::(?:unlimited|-1|[0-9]+))?$`)

func checkUlimits(o RunOptions) error {
	for _, u := range o.Ulimits {
		t, val, ok := strings.Cut(u, "=")
		if !ok || !ulimitTypes[t] || !ulimitValueRe.MatchString(val) {
			return inputf("Ulimits", "%q is invalid; use <type>=<soft>[:<hard>] with type one of core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack", u)
		}
	}
	return nil
}

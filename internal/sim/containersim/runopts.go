package containersim

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/tartanhq/tartan/internal/sim/containersim/imagestore"
)

// minMemory is the smallest --memory accepted since 0.10.0.
const minMemory = 200 << 20

// defaults of container.cpus / container.memory (config.toml).
const (
	defaultCPUs   = 4
	defaultMemory = 1 << 30
)

// parseMemory parses --memory: k/m/g/t/p suffixes (optionally with b/ib),
// binary units, case-insensitive; a bare number is bytes.
func parseMemory(s string) (uint64, error) {
	l := strings.ToLower(strings.TrimSpace(s))
	mult := uint64(1)
	for _, u := range []struct {
		suf string
		m   uint64
	}{{"pib", 1 << 50}, {"tib", 1 << 40}, {"gib", 1 << 30}, {"mib", 1 << 20}, {"kib", 1 << 10},
		{"pb", 1 << 50}, {"tb", 1 << 40}, {"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10},
		{"p", 1 << 50}, {"t", 1 << 40}, {"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}, {"b", 1}} {
		if strings.HasSuffix(l, u.suf) {
			l, mult = strings.TrimSuffix(l, u.suf), u.m
			break
		}
	}
	n, err := strconv.ParseFloat(l, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid memory value: %s", s)
	}
	return uint64(n * float64(mult)), nil
}

// newUUID is a lowercase random UUID (the ID of an unnamed container).
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func randomMAC() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	b[0] = b[0]&0xfe | 0x02 // locally administered unicast
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}

// envFromFile reads an --env-file: KEY=VAL lines, KEY alone inherits.
func (e *env) envFromFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, failf("failed to read env file %s: %v", path, err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if kv, ok := e.envEntry(line); ok {
			out = append(out, kv)
		}
	}
	return out, sc.Err()
}

// envEntry resolves "KEY=VAL" or "KEY" (taken from the CLI's environment;
// skipped when unset).
func (e *env) envEntry(s string) (string, bool) {
	if strings.Contains(s, "=") {
		return s, true
	}
	if v, ok := os.LookupEnv(s); ok {
		return s + "=" + v, true
	}
	return "", false
}

// mergeEnv applies overrides to base; later entries win per key.
func mergeEnv(base []string, overrides ...[]string) []string {
	out := append([]string(nil), base...)
	for _, list := range overrides {
		for _, kv := range list {
			k, _, _ := strings.Cut(kv, "=")
			replaced := false
			for i, x := range out {
				if xk, _, _ := strings.Cut(x, "="); xk == k {
					out[i] = kv
					replaced = true
					break
				}
			}
			if !replaced {
				out = append(out, kv)
			}
		}
	}
	return out
}

// processEnv collects -e and --env-file values in order.
func (e *env) processEnv(p *parsed) ([]string, error) {
	var out []string
	for _, f := range p.all("env-file") {
		kvs, err := e.envFromFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, kvs...)
	}
	for _, s := range p.all("env") {
		if kv, ok := e.envEntry(s); ok {
			out = append(out, kv)
		}
	}
	return out, nil
}

func normalizeCap(c string) string {
	u := strings.ToUpper(c)
	if u == "ALL" || u == "CAP_ALL" {
		return "CAP_ALL"
	}
	if !strings.HasPrefix(u, "CAP_") {
		u = "CAP_" + u
	}
	return u
}

// userFromFlags returns the init process user as the config records it.
func userFromFlags(p *parsed, imageUser string) ProcessUser {
	if u := p.str("user", ""); u != "" {
		return ProcessUser{Raw: &UserRaw{UserString: u}}
	}
	if p.has("uid") || p.has("gid") {
		uid, gid := uint32(p.int("uid", 0)), uint32(p.int("gid", 0))
		if p.has("uid") && !p.has("gid") {
			return ProcessUser{Raw: &UserRaw{UserString: strconv.Itoa(int(uid))}}
		}
		return ProcessUser{ID: &UserID{UID: uid, GID: gid}}
	}
	if imageUser != "" {
		return ProcessUser{Raw: &UserRaw{UserString: imageUser}}
	}
	return ProcessUser{ID: &UserID{}}
}

// parseVolume parses -v: /host:/ctr[:opts] (a host directory), name:/ctr
// (a named volume) or /ctr (an anonymous volume). Volumes get their name
// and source from ensureVolume.
func parseVolume(spec, cwd string) (Filesystem, error) {
	parts := strings.Split(spec, ":")
	if len(parts) == 1 && strings.HasPrefix(spec, "/") {
		return Filesystem{Type: volumeType(""), Destination: filepath.Clean(spec), Options: []string{}}, nil
	}
	if len(parts) < 2 || len(parts) > 3 {
		return Filesystem{}, failf("invalid volume format: %s", spec)
	}
	src, dst := parts[0], parts[1]
	if !strings.HasPrefix(src, "/") && !strings.HasPrefix(src, ".") {
		opts := []string{}
		if len(parts) == 3 && (parts[2] == "ro" || parts[2] == "readonly") {
			opts = append(opts, "ro")
		}
		if !strings.HasPrefix(dst, "/") {
			return Filesystem{}, failf("invalid volume format: %s (the container path must be absolute)", spec)
		}
		return Filesystem{Type: volumeType(src), Destination: filepath.Clean(dst), Options: opts}, nil
	}
	if !filepath.IsAbs(src) {
		src = filepath.Join(cwd, src)
	}
	if !strings.HasPrefix(dst, "/") {
		return Filesystem{}, failf("invalid volume format: %s (the container path must be absolute)", spec)
	}
	opts := []string{}
	if len(parts) == 3 {
		for _, o := range strings.Split(parts[2], ",") {
			switch o {
			case "ro", "readonly":
				opts = append(opts, "ro")
			case "rw", "":
			default:
				opts = append(opts, o)
			}
		}
	}
	st, err := os.Stat(src)
	if err != nil {
		return Filesystem{}, failf("path '%s' does not exist", src)
	}
	if !st.IsDir() {
		return Filesystem{}, failf("path '%s' is not a directory", src)
	}
	return Filesystem{Type: map[string]any{"virtiofs": map[string]any{}}, Source: filepath.Clean(src), Destination: filepath.Clean(dst), Options: opts}, nil
}

// parseMount parses --mount type=...,source=...,target=...,readonly.
func parseMount(spec, cwd string) (Filesystem, error) {
	kv := map[string]string{}
	ro := false
	for _, f := range strings.Split(spec, ",") {
		k, v, _ := strings.Cut(f, "=")
		switch strings.ToLower(k) {
		case "type":
			kv["type"] = v
		case "source", "src":
			kv["source"] = v
		case "target", "destination", "dst":
			kv["target"] = v
		case "readonly", "ro":
			ro = v == "" || v == "true"
		default:
			return Filesystem{}, failf("unknown mount option %s in %s", k, spec)
		}
	}
	switch kv["type"] {
	case "tmpfs":
		opts := []string{}
		if ro {
			opts = append(opts, "ro")
		}
		return Filesystem{Type: map[string]any{"tmpfs": map[string]any{}}, Source: "tmpfs", Destination: kv["target"], Options: opts}, nil
	case "volume":
		opts := []string{}
		if ro {
			opts = append(opts, "ro")
		}
		return Filesystem{Type: volumeType(kv["source"]), Destination: kv["target"], Options: opts}, nil
	case "bind", "virtiofs":
		s := kv["source"] + ":" + kv["target"]
		if ro {
			s += ":ro"
		}
		return parseVolume(s, cwd)
	default:
		return Filesystem{}, failf("unsupported mount type %q in %s (container-sim simulates bind, virtiofs, tmpfs, volume)", kv["type"], spec)
	}
}

// parsePublish parses [host-ip:]host-port:container-port[/proto] with ranges.
func parsePublish(spec string) (PublishPort, error) {
	bad := failf("invalid publish value: %s", spec)
	body, proto, hasProto := strings.Cut(spec, "/")
	if !hasProto {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" {
		return PublishPort{}, bad
	}
	host := "0.0.0.0"
	var hp, cp string
	if strings.HasPrefix(body, "[") {
		end := strings.Index(body, "]")
		if end < 0 {
			return PublishPort{}, bad
		}
		host = body[1:end]
		rest := strings.TrimPrefix(body[end+1:], ":")
		var ok bool
		hp, cp, ok = strings.Cut(rest, ":")
		if !ok {
			return PublishPort{}, bad
		}
	} else {
		parts := strings.Split(body, ":")
		switch len(parts) {
		case 2:
			hp, cp = parts[0], parts[1]
		case 3:
			host, hp, cp = parts[0], parts[1], parts[2]
		default:
			return PublishPort{}, bad
		}
	}
	hs, he, err := portRange(hp)
	if err != nil {
		return PublishPort{}, failf("invalid publish host port range: %s", hp)
	}
	cs, ce, err := portRange(cp)
	if err != nil {
		return PublishPort{}, failf("invalid publish container port range: %s", cp)
	}
	if he-hs != ce-cs {
		return PublishPort{}, failf("invalid publish value: %s (host and container port ranges differ in size)", spec)
	}
	return PublishPort{HostAddress: host, HostPort: hs, ContainerPort: cs, Proto: proto, Count: he - hs + 1}, nil
}

func portRange(s string) (int, int, error) {
	a, b, isRange := strings.Cut(s, "-")
	lo, err := strconv.Atoi(a)
	if err != nil || lo <= 1 || lo > 65535 {
		return 0, 0, fmt.Errorf("bad port %q", s)
	}
	hi := lo
	if isRange {
		hi, err = strconv.Atoi(b)
		if err != nil || hi < lo || hi > 65535 {
			return 0, 0, fmt.Errorf("bad port range %q", s)
		}
	}
	return lo, hi, nil
}

func parseUlimit(s string) (Rlimit, error) {
	typ, vals, ok := strings.Cut(s, "=")
	valid := []string{"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}
	if !ok || !contains(valid, typ) {
		return Rlimit{}, failf("invalid ulimit: %s", s)
	}
	conv := func(v string) (uint64, error) {
		if v == "unlimited" || v == "-1" {
			return ^uint64(0), nil
		}
		return strconv.ParseUint(v, 10, 64)
	}
	soft, hard, hasHard := strings.Cut(vals, ":")
	sv, err := conv(soft)
	if err != nil {
		return Rlimit{}, failf("invalid ulimit: %s", s)
	}
	hv := sv
	if hasHard {
		if hv, err = conv(hard); err != nil {
			return Rlimit{}, failf("invalid ulimit: %s", s)
		}
	}
	return Rlimit{Limit: "RLIMIT_" + strings.ToUpper(typ), Soft: sv, Hard: hv}, nil
}

// parseNetworkSpec parses --network <name>[,mac=XX:..][,mtu=N] (mtu 1280..65535).
func parseNetworkSpec(spec, id string) (NetworkAttachment, error) {
	parts := strings.Split(spec, ",")
	att := NetworkAttachment{Network: parts[0], Options: NetworkOptions{Hostname: id, MTU: defaultMTU}}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "mac":
			hw, err := net.ParseMAC(v)
			if err != nil || len(hw) != 6 {
				return att, failf("invalid MAC address %s", v)
			}
			att.Options.MACAddress = strings.ToLower(hw.String())
		case "mtu":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1280 || n > 65535 {
				return att, failf("invalid MTU %s: must be between 1280 and 65535", v)
			}
			att.Options.MTU = n
		default:
			return att, failf("invalid network option %s in %s", p, spec)
		}
	}
	return att, nil
}

// runRequest is a validated run/create command line.
type runRequest struct {
	ID       string
	Ref      string // as given
	Platform string
	Detach   bool
	Cfg      ContainerConfig
	Opts     simOptions
	Cidfile  string
	Progress string
}

// buildRunRequest validates the flags of run/create (everything that does
// not need the image).
func (e *env) buildRunRequest(p *parsed) (*runRequest, error) {
	r := &runRequest{Ref: p.args[0], Detach: p.flag("detach"), Cidfile: p.str("cidfile", ""), Progress: p.str("progress", "auto")}
	r.ID = p.str("name", "")
	if r.ID == "" {
		r.ID = newUUID()
	}
	if !validID(r.ID) {
		if e.ver.pre1() {
			return nil, failf("invalid entity name %s", r.ID)
		}
		return nil, failf("container ID %s is not a valid container ID", r.ID)
	}
	cfg := &r.Cfg
	cfg.ID = r.ID
	cfg.CreationDate = time.Now().UTC().Truncate(time.Second)
	cfg.RuntimeHandler = p.str("runtime", "container-runtime-linux")
	cfg.Resources.CPUOverhead = 1
	cfg.Resources.CPUs = int(p.int("cpus", defaultCPUs))
	if cfg.Resources.CPUs < 1 {
		return nil, failf("invalid cpus value %d: must be at least 1", cfg.Resources.CPUs)
	}
	cfg.Resources.MemoryInBytes = defaultMemory
	if m := p.str("memory", ""); m != "" {
		n, err := parseMemory(m)
		if err != nil {
			return nil, failf("%v", err)
		}
		if n < minMemory && e.ver.atLeast(0, 10) {
			return nil, failf("minimum memory amount allowed is 200 MiB (got %d bytes)", n)
		}
		cfg.Resources.MemoryInBytes = n
	}
	plat := imagestore.Platform{OS: p.str("os", "linux"), Architecture: p.str("arch", runtime.GOARCH)}
	if def := e.getenv("CONTAINER_DEFAULT_PLATFORM"); def != "" && !p.has("arch") && !p.has("os") {
		pp, err := imagestore.ParsePlatform(def)
		if err != nil {
			return nil, failf("invalid CONTAINER_DEFAULT_PLATFORM %q: %v", def, err)
		}
		plat = pp
	}
	if s := p.str("platform", ""); s != "" {
		pp, err := imagestore.ParsePlatform(s)
		if err != nil {
			return nil, failf("%v", err)
		}
		plat = pp
	}
	r.Platform = plat.String()
	cfg.Platform = Platform{OS: plat.OS, Architecture: plat.Architecture, Variant: plat.Variant}
	cfg.Labels = map[string]string{}
	for _, l := range p.all("label") {
		k, v, _ := strings.Cut(l, "=")
		if strings.Contains(v, "=") || k == "" {
			return nil, failf("invalid label format %s", l)
		}
		cfg.Labels[k] = v
	}
	cwd, _ := os.Getwd()
	cfg.Mounts = []Filesystem{}
	for _, v := range p.all("volume") {
		m, err := parseVolume(v, cwd)
		if err != nil {
			return nil, err
		}
		cfg.Mounts = append(cfg.Mounts, m)
	}
	for _, v := range p.all("mount") {
		m, err := parseMount(v, cwd)
		if err != nil {
			return nil, err
		}
		cfg.Mounts = append(cfg.Mounts, m)
	}
	for i := range cfg.Mounts {
		if err := e.ensureVolume(&cfg.Mounts[i]); err != nil {
			return nil, err
		}
	}
	for _, t := range p.all("tmpfs") {
		cfg.Mounts = append(cfg.Mounts, Filesystem{Type: map[string]any{"tmpfs": map[string]any{}}, Source: "tmpfs", Destination: t, Options: []string{}})
	}
	cfg.PublishedPorts = []PublishPort{}
	if n := len(p.all("publish")); n > 64 {
		return nil, failf("cannot publish more than 64 ports (got %d)", n)
	}
	for _, s := range p.all("publish") {
		pp, err := parsePublish(s)
		if err != nil {
			return nil, err
		}
		for _, o := range cfg.PublishedPorts {
			if o.Proto == pp.Proto && pp.HostPort < o.HostPort+o.Count && o.HostPort < pp.HostPort+pp.Count {
				return nil, failf("invalid publish value: %s (overlaps host port %d)", s, o.HostPort)
			}
		}
		cfg.PublishedPorts = append(cfg.PublishedPorts, pp)
	}
	cfg.PublishedSockets = []PublishSocket{}
	for _, s := range p.all("publish-socket") {
		h, c, ok := strings.Cut(s, ":")
		if !ok {
			return nil, failf("invalid publish-socket value: %s", s)
		}
		cfg.PublishedSockets = append(cfg.PublishedSockets, PublishSocket{HostPath: h, ContainerPath: c})
	}
	// Networks.
	cfg.Networks = []NetworkAttachment{}
	nets := p.all("network")
	none := false
	for _, n := range nets {
		name, _, _ := strings.Cut(n, ",")
		switch name {
		case "none":
			none = true
		case defaultNetwork:
		default:
			if !e.networkExists(name) {
				return nil, failf("network %s not found", name)
			}
		}
	}
	if none && len(nets) > 1 {
		return nil, failf("network none cannot be combined with other networks")
	}
	if !none {
		spec := defaultNetwork
		if len(nets) > 0 {
			spec = nets[0]
		}
		att, err := parseNetworkSpec(spec, r.ID)
		if err != nil {
			return nil, err
		}
		cfg.Networks = append(cfg.Networks, att)
		r.Opts.MACAddress = att.Options.MACAddress
		if r.Opts.MACAddress == "" {
			r.Opts.MACAddress = randomMAC()
		}
		r.Opts.MTU = att.Options.MTU
		r.Opts.Gateway = defaultGateway
	}
	// DNS.
	dnsFlags := p.has("dns") || p.has("dns-domain") || p.has("dns-option") || p.has("dns-search")
	if p.flag("no-dns") && dnsFlags {
		return nil, p.cmd.usageErr("--no-dns cannot be used with --dns, --dns-domain, --dns-option, or --dns-search")
	}
	if !p.flag("no-dns") {
		cfg.DNS = &DNSConfig{Nameservers: p.all("dns"), Options: p.all("dns-option"), SearchDomains: p.all("dns-search"), Domain: p.str("dns-domain", "")}
		if cfg.DNS.Nameservers == nil {
			cfg.DNS.Nameservers = []string{}
			if !none {
				cfg.DNS.Nameservers = []string{defaultGateway}
			}
		}
		if cfg.DNS.Options == nil {
			cfg.DNS.Options = []string{}
		}
		if cfg.DNS.SearchDomains == nil {
			cfg.DNS.SearchDomains = []string{}
		}
	}
	cfg.CapAdd, cfg.CapDrop = []string{}, []string{}
	for _, c := range p.all("cap-add") {
		cfg.CapAdd = append(cfg.CapAdd, normalizeCap(c))
	}
	for _, c := range p.all("cap-drop") {
		cfg.CapDrop = append(cfg.CapDrop, normalizeCap(c))
	}
	cfg.Sysctls = map[string]string{}
	cfg.MaskedPaths = p.all("masked-path")
	cfg.ReadonlyPaths = p.all("read-only-path")
	cfg.ReadOnly = p.flag("read-only")
	cfg.UseInit = p.flag("init")
	cfg.Rosetta = p.flag("rosetta")
	cfg.Virtualization = p.flag("virtualization")
	if p.flag("ssh") {
		sock := e.getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return nil, failf("SSH_AUTH_SOCK is not set: --ssh forwards the SSH agent socket of the current environment")
		}
		cfg.SSH = true
		r.Opts.SSHAuthSock = sock
	}
	if s := p.str("shm-size", ""); s != "" {
		n, err := parseMemory(s)
		if err != nil {
			return nil, failf("invalid shm-size value: %s", s)
		}
		cfg.ShmSize = &n
	}
	cfg.InitProcess.Rlimits = []Rlimit{}
	for _, u := range p.all("ulimit") {
		rl, err := parseUlimit(u)
		if err != nil {
			return nil, err
		}
		cfg.InitProcess.Rlimits = append(cfg.InitProcess.Rlimits, rl)
	}
	cfg.InitProcess.Terminal = p.flag("tty")
	cfg.InitProcess.SupplementalGroups = []uint32{}
	r.Opts.AutoRemove = p.flag("rm")
	r.Opts.Interactive = p.flag("interactive")
	return r, nil
}

// applyImage completes the configuration from the image config.
func (e *env) applyImage(r *runRequest, p *parsed, img imagestore.Image, ic imagestore.ImageConfig) error {
	cfg := &r.Cfg
	cfg.Image = ImageDescription{Reference: img.Reference, Descriptor: Descriptor{Digest: img.Digest, MediaType: string(img.MediaType), Size: img.Size}}
	args := p.args[1:]
	entry := ic.Entrypoint
	cmd := ic.Cmd
	if ep, ok := p.opts["entrypoint"]; ok && len(ep) > 0 {
		entry = []string{ep[len(ep)-1]}
		if entry[0] == "" {
			entry = nil // --entrypoint "" clears the image's entrypoint
		}
		cmd = nil // an overridden entrypoint drops the image CMD
	}
	if len(args) > 0 {
		cmd = args
	}
	full := append(append([]string{}, entry...), cmd...)
	if len(full) == 0 || full[0] == "" {
		return failf("command/entrypoint not specified for container process")
	}
	cfg.InitProcess.Executable = full[0]
	cfg.InitProcess.Arguments = full[1:]
	if cfg.InitProcess.Arguments == nil {
		cfg.InitProcess.Arguments = []string{}
	}
	envs, err := e.processEnv(p)
	if err != nil {
		return err
	}
	base := ic.Env
	if len(base) == 0 {
		base = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	}
	cfg.InitProcess.Environment = mergeEnv(base, envs)
	if cfg.InitProcess.Terminal {
		cfg.InitProcess.Environment = mergeEnv(cfg.InitProcess.Environment, []string{"TERM=xterm"})
	}
	if cfg.SSH {
		cfg.InitProcess.Environment = mergeEnv(cfg.InitProcess.Environment, []string{"SSH_AUTH_SOCK=" + sshSockInContainer})
	}
	cfg.InitProcess.WorkingDirectory = p.str("workdir", ic.WorkingDir)
	if cfg.InitProcess.WorkingDirectory == "" {
		cfg.InitProcess.WorkingDirectory = "/"
	}
	cfg.InitProcess.User = userFromFlags(p, ic.User)
	if ic.StopSignal != "" && !e.ver.pre1() {
		cfg.StopSignal = ic.StopSignal
	}
	return nil
}

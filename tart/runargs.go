package tart

import (
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
)

// defaultShareTag is the virtiofs tag tart uses when a --dir has no tag=.
const defaultShareTag = "com.apple.virtio-fs.automount"

// boolFlag maps a RunOptions switch to its tart flag and the feature gate
// it needs ("" = available in every tart this client supports).
type boolFlag struct {
	on      func(RunOptions) bool
	flag    string
	feature Feature
}

// runBoolFlags is the declarative list of plain `tart run` switches, in the
// order they appear in argv.
var runBoolFlags = []boolFlag{
	{func(o RunOptions) bool { return o.NoGraphics }, "--no-graphics", ""},
	{func(o RunOptions) bool { return o.Graphics }, "--graphics", ""},
	{func(o RunOptions) bool { return o.VNC }, "--vnc", ""},
	{func(o RunOptions) bool { return o.VNCExperimental }, "--vnc-experimental", ""},
	{func(o RunOptions) bool { return o.Recovery }, "--recovery", ""},
	{func(o RunOptions) bool { return o.Serial }, "--serial", FeatureSerial},
	{func(o RunOptions) bool { return o.NoAudio }, "--no-audio", FeatureNoAudio},
	{func(o RunOptions) bool { return o.NoClipboard }, "--no-clipboard", FeatureNoClipboard},
	{func(o RunOptions) bool { return o.Suspendable }, "--suspendable", FeatureSuspend},
	{func(o RunOptions) bool { return o.Nested }, "--nested", FeatureNested},
	{func(o RunOptions) bool { return o.NoTrackpad }, "--no-trackpad", FeatureNoTrackpad},
	{func(o RunOptions) bool { return o.NoKeyboard }, "--no-keyboard", FeatureNoKeyboardPointer},
	{func(o RunOptions) bool { return o.NoPointer }, "--no-pointer", FeatureNoKeyboardPointer},
	{func(o RunOptions) bool { return o.CaptureSystemKeys }, "--capture-system-keys", FeatureCaptureSystemKeys},
}

// exclusion is a pair of options tart refuses together.
type exclusion struct {
	both func(RunOptions) bool
	msg  string
}

var runExclusions = []exclusion{
	{func(o RunOptions) bool { return o.Graphics && o.NoGraphics }, "Graphics and NoGraphics are mutually exclusive; pick one"},
	{func(o RunOptions) bool { return o.VNC && o.VNCExperimental }, "VNC and VNCExperimental are mutually exclusive; pick one"},
	{func(o RunOptions) bool { return o.Serial && o.SerialPath != "" }, "Serial and SerialPath are mutually exclusive: Serial creates a PTY, SerialPath uses an existing one"},
	{func(o RunOptions) bool { return o.Suspendable && (o.NoTrackpad || o.NoKeyboard || o.NoPointer) }, "Suspendable cannot be combined with NoTrackpad, NoKeyboard or NoPointer"},
	{func(o RunOptions) bool { return o.Suspendable && o.Nested }, "Suspendable is for macOS guests and Nested for Linux guests; they cannot be combined"},
	{func(o RunOptions) bool { return o.Suspendable && o.Rosetta != "" }, "Suspendable is for macOS guests and Rosetta for Linux guests; they cannot be combined"},
	{func(o RunOptions) bool { return o.CaptureSystemKeys && (o.NoGraphics || o.VNC || o.VNCExperimental) }, "CaptureSystemKeys needs the default VM window; drop NoGraphics/VNC"},
}

// RunArgs builds and validates `tart run` argv (without the binary). It
// rejects the combinations tart rejects, so bad input fails before tart
// runs with an error wrapping ErrUsage.
func RunArgs(name string, o RunOptions) ([]string, error) {
	if err := validateVMName("VM name", name); err != nil {
		return nil, err
	}
	for _, ex := range runExclusions {
		if ex.both(o) {
			return nil, usagef("run %s: %s", name, ex.msg)
		}
	}
	args := []string{"run", name}
	for _, f := range runBoolFlags {
		if f.on(o) {
			args = append(args, f.flag)
		}
	}
	if o.SerialPath != "" {
		args = append(args, "--serial-path", o.SerialPath)
	}
	if o.Rosetta != "" {
		if err := validateTag("Rosetta tag", o.Rosetta); err != nil {
			return nil, err
		}
		args = append(args, "--rosetta", o.Rosetta)
	}
	dirs, err := dirArgs(o.Dirs)
	if err != nil {
		return nil, err
	}
	args = append(args, dirs...)
	disks, err := diskArgs(o.Disks)
	if err != nil {
		return nil, err
	}
	args = append(args, disks...)
	if spec, err := diskOpts("root disk", o.RootDisk.Sync, o.RootDisk.Caching, false, false); err != nil {
		return nil, err
	} else if spec != "" {
		args = append(args, "--root-disk-opts", spec)
	}
	net, err := netArgs(o.Net)
	if err != nil {
		return nil, err
	}
	return append(args, net...), nil
}

// RunFeatures lists the version-gated features o needs.
func RunFeatures(o RunOptions) []Feature {
	var fs []Feature
	for _, f := range runBoolFlags {
		if f.feature != "" && f.on(o) {
			fs = append(fs, f.feature)
		}
	}
	if o.RootDisk.Sync != "" || o.RootDisk.Caching != "" {
		fs = append(fs, FeatureRootDiskOpts)
	}
	caching := o.RootDisk.Caching != ""
	for _, d := range o.Disks {
		if d.Sync != "" {
			fs = append(fs, FeatureDiskSync)
		}
		caching = caching || d.Caching != ""
	}
	if caching {
		fs = append(fs, FeatureCaching)
	}
	switch mode, _ := netMode(o.Net); mode {
	case NetSoftnet:
		fs = append(fs, FeatureSoftnet)
	case NetHost:
		fs = append(fs, FeatureNetHost)
	case NetBridged:
		if len(o.Net.Bridged) > 1 {
			fs = append(fs, FeatureMultipleBridged)
		}
	}
	if len(o.Net.SoftnetAllow) > 0 {
		fs = append(fs, FeatureSoftnetAllow)
	}
	if len(o.Net.SoftnetBlock) > 0 {
		fs = append(fs, FeatureSoftnetBlock)
	}
	if len(o.Net.SoftnetExpose) > 0 {
		fs = append(fs, FeatureSoftnetExpose)
	}
	return fs
}

func validateTag(what, tag string) error {
	if strings.ContainsAny(tag, ",: \t\n") {
		return usagef("%s %q must not contain commas, colons or whitespace", what, tag)
	}
	return nil
}

func isHTTPURL(p string) bool {
	return strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://")
}

// dirArgs renders --dir [name:]path[:ro][,tag=TAG] for every share.
func dirArgs(shares []Share) ([]string, error) {
	byTag := map[string][]Share{}
	names := map[string]bool{}
	var args []string
	for i, s := range shares {
		label := "share " + strconv.Itoa(i+1)
		if s.Name != "" {
			label = "share " + strconv.Quote(s.Name)
		}
		switch {
		case strings.ContainsAny(s.Name, ",:/"):
			return nil, usagef("%s: name must not contain ',', ':' or '/' (tart splits --dir on them)", label)
		case s.Name != "" && names[s.Name]:
			return nil, usagef("%s: duplicate share name; every share needs its own name", label)
		case s.Path == "":
			return nil, usagef("%s: path is empty; give an absolute host directory or an http(s) URL of a .tar.gz", label)
		case !isHTTPURL(s.Path) && !filepath.IsAbs(s.Path):
			return nil, usagef("%s: path %q is relative; give an absolute host directory", label, s.Path)
		case !isHTTPURL(s.Path) && strings.ContainsAny(s.Path, ":,"):
			return nil, usagef("%s: path %q contains ':' or ',' which tart cannot parse in --dir; use a path (or symlink) without them", label, s.Path)
		}
		if err := validateTag(label+" tag", s.Tag); err != nil {
			return nil, err
		}
		names[s.Name] = s.Name != ""
		tag := s.Tag
		if tag == "" {
			tag = defaultShareTag
		}
		byTag[tag] = append(byTag[tag], s)

		spec := s.Path
		if s.Name != "" {
			spec = s.Name + ":" + spec
		}
		var opts []string
		if s.ReadOnly {
			opts = append(opts, "ro")
		}
		if s.Tag != "" {
			opts = append(opts, "tag="+s.Tag)
		}
		if len(opts) > 0 {
			spec += ":" + strings.Join(opts, ",")
		}
		args = append(args, "--dir", spec)
	}
	for tag, group := range byTag {
		if len(group) < 2 {
			continue
		}
		for _, s := range group {
			if s.Name == "" {
				return nil, usagef("%d shares use tag %q: each of them needs a Name", len(group), tag)
			}
		}
	}
	return args, nil
}

func isNBD(p string) bool {
	for _, s := range []string{"nbd://", "nbds://", "nbd+unix://", "nbds+unix://"} {
		if strings.HasPrefix(p, s) {
			return true
		}
	}
	return false
}

// diskArgs renders --disk path[:ro,sync=..,caching=..].
func diskArgs(disks []Disk) ([]string, error) {
	var args []string
	for i, d := range disks {
		label := "disk " + strconv.Itoa(i+1)
		switch {
		case d.Path == "":
			return nil, usagef("%s: path is empty; give a disk image, block device, remote VM name or nbd:// URL", label)
		case strings.HasSuffix(d.Path, "-amd64.iso"):
			return nil, usagef("%s: %q is an amd64 ISO, which cannot boot on Apple Silicon; use an arm64 image", label, d.Path)
		case !isNBD(d.Path) && !IsRemoteName(d.Path) && strings.ContainsAny(d.Path, ":,"):
			return nil, usagef("%s: path %q contains ':' or ',' which tart cannot parse in --disk; use a path (or symlink) without them", label, d.Path)
		case !isNBD(d.Path) && !IsRemoteName(d.Path) && !filepath.IsAbs(d.Path):
			return nil, usagef("%s: path %q is relative; give an absolute path", label, d.Path)
		}
		blockLike := isNBD(d.Path) || strings.HasPrefix(d.Path, "/dev/")
		opts, err := diskOpts(label, d.Sync, d.Caching, d.ReadOnly, blockLike)
		if err != nil {
			return nil, err
		}
		spec := d.Path
		if opts != "" {
			spec += ":" + opts
		}
		args = append(args, "--disk", spec)
	}
	return args, nil
}

// diskOpts renders "ro,sync=..,caching=.." (empty when all default).
func diskOpts(label, sync, caching string, ro, blockLike bool) (string, error) {
	var opts []string
	if ro {
		opts = append(opts, "ro")
	}
	switch sync {
	case "":
	case SyncNone, SyncFull:
		opts = append(opts, "sync="+sync)
	case SyncFsync:
		if blockLike {
			return "", usagef("%s: sync=fsync is not available for block devices and NBD; use none or full", label)
		}
		opts = append(opts, "sync="+sync)
	default:
		return "", usagef("%s: sync mode %q is invalid; use none, fsync or full", label, sync)
	}
	switch caching {
	case "":
	case CachingAutomatic, CachingCached, CachingUncached:
		opts = append(opts, "caching="+caching)
	default:
		return "", usagef("%s: caching mode %q is invalid; use automatic, cached or uncached", label, caching)
	}
	return strings.Join(opts, ","), nil
}

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

// GuestSharePath is where a --dir share named shareName appears in a guest
// of the given OS: macOS automounts the default tag under
// /Volumes/My Shared Files; Linux guests mount it at /mnt/shared by the
// project's convention.
func GuestSharePath(os, shareName string) string {
	if os == "linux" {
		return "/mnt/shared/" + shareName
	}
	return "/Volumes/My Shared Files/" + shareName
}

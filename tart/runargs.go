package tart

import (
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

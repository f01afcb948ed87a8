package applecontainer

import (
	"slices"
	"strconv"
)

// runFlag is one row of the declarative `container run`/`create` flag
// table: the RunOptions field, the CLI flag, the feature gate ("" = every
// release), and how to get the flag's values (nil/empty = flag absent; a
// switch returns one empty string). check validates the values.
type runFlag struct {
	field   string
	flag    string
	feature Feature
	values  func(RunOptions) []string
	check   func(RunOptions) error
}

func on(b bool) []string {
	if b {
		return []string{""}
	}
	return nil
}

func one(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// runFlags is the table, in argv order (apple-container-cli.md §4.1).
var runFlags = []runFlag{
	{"Name", "--name", "", func(o RunOptions) []string { return one(o.Name) }, checkName},
	{"Entrypoint", "--entrypoint", "", func(o RunOptions) []string { return one(o.Entrypoint) }, nil},
	{"Env", "--env", "", func(o RunOptions) []string { return o.Env }, checkEnv},
	{"EnvFiles", "--env-file", "", func(o RunOptions) []string { return o.EnvFiles }, checkEnvFiles},
	{"User", "--user", "", func(o RunOptions) []string { return one(o.User) }, nil},
	{"UID", "--uid", "", func(o RunOptions) []string { return optUint(o.UID) }, nil},
	{"GID", "--gid", "", func(o RunOptions) []string { return optUint(o.GID) }, nil},
	{"Workdir", "--workdir", "", func(o RunOptions) []string { return one(o.Workdir) }, nil},
	{"CPUs", "--cpus", "", func(o RunOptions) []string { return optInt(o.CPUs) }, checkCPUs},
	{"MemoryBytes", "--memory", "", func(o RunOptions) []string { return one(renderMemory(o.MemoryBytes)) }, checkMemory},
	{"Volumes", "--volume", "", func(o RunOptions) []string { return o.Volumes }, checkVolumes},
	{"Mounts", "--mount", "", mountValues, checkMounts},
	{"Tmpfs", "--tmpfs", "", func(o RunOptions) []string { return o.Tmpfs }, checkTmpfs},
	{"Publish", "--publish", FeaturePublish, publishValues, checkPublish},
	{"Networks", "--network", FeatureNetwork, func(o RunOptions) []string { return o.Networks }, checkNetworks},
	{"DNS", "--dns", "", func(o RunOptions) []string { return o.DNS }, checkDNS},
	{"DNSDomain", "--dns-domain", "", func(o RunOptions) []string { return one(o.DNSDomain) }, nil},
	{"DNSSearch", "--dns-search", "", func(o RunOptions) []string { return o.DNSSearch }, nil},
	{"DNSOptions", "--dns-option", "", func(o RunOptions) []string { return o.DNSOptions }, nil},
	{"NoDNS", "--no-dns", "", func(o RunOptions) []string { return on(o.NoDNS) }, checkNoDNS},
	{"Labels", "--label", "", labelValues, checkLabels},
	{"CapAdd", "--cap-add", FeatureCapabilities, func(o RunOptions) []string { return o.CapAdd }, checkCaps},
	{"CapDrop", "--cap-drop", FeatureCapabilities, func(o RunOptions) []string { return o.CapDrop }, checkCaps},
	{"ReadOnly", "--read-only", FeatureReadOnly, func(o RunOptions) []string { return on(o.ReadOnly) }, nil},
	{"Init", "--init", FeatureInit, func(o RunOptions) []string { return on(o.Init) }, nil},
	{"InitImage", "--init-image", FeatureInitImage, func(o RunOptions) []string { return one(o.InitImage) }, nil},
	{"Interactive", "--interactive", "", func(o RunOptions) []string { return on(o.Interactive) }, nil},
	{"TTY", "--tty", "", func(o RunOptions) []string { return on(o.TTY) }, nil},
	{"Remove", "--rm", "", func(o RunOptions) []string { return on(o.Remove) }, nil},
	{"Rosetta", "--rosetta", FeatureRosetta, func(o RunOptions) []string { return on(o.Rosetta) }, nil},
	{"SSH", "--ssh", FeatureSSH, func(o RunOptions) []string { return on(o.SSH) }, nil},
	{"Virtualization", "--virtualization", FeatureVirtualization, func(o RunOptions) []string { return on(o.Virtualization) }, nil},
	{"Platform", "--platform", FeaturePlatform, func(o RunOptions) []string { return one(o.Platform) }, checkPlatform},
	{"Arch", "--arch", "", func(o RunOptions) []string { return one(o.Arch) }, nil},
	{"OS", "--os", "", func(o RunOptions) []string { return one(o.OS) }, nil},
	{"Kernel", "--kernel", "", func(o RunOptions) []string { return one(o.Kernel) }, nil},
	{"KernelArgs", "--kernel-arg", FeatureKernelArg, func(o RunOptions) []string { return o.KernelArgs }, nil},
	{"ShmSize", "--shm-size", FeatureShmSize, func(o RunOptions) []string { return one(o.ShmSize) }, checkShmSize},
	{"Ulimits", "--ulimit", FeatureUlimit, func(o RunOptions) []string { return o.Ulimits }, checkUlimits},
}

func optUint(p *uint32) []string {
	if p == nil {
		return nil
	}
	return []string{strconv.FormatUint(uint64(*p), 10)}
}

func optInt(n int) []string {
	if n == 0 {
		return nil
	}
	return []string{strconv.Itoa(n)}
}

// RunArgs builds and validates `container run` argv (without the binary):
// attached (never --detach), with --progress none when v has it. Input the
// CLI would reject fails here with ErrInvalidInput naming the option; flags
// v lacks fail with *UnsupportedError. A zero v means "newest": no gating.
func RunArgs(o RunOptions, v Version) ([]string, error) {
	return containerArgs("run", o, v)
}

// CreateArgs builds `container create` argv (as RunArgs, without
// --progress, which create does not have).
func CreateArgs(o RunOptions, v Version) ([]string, error) {
	return containerArgs("create", o, v)
}

func containerArgs(verb string, o RunOptions, v Version) ([]string, error) {
	if o.Image == "" {
		return nil, inputf("Image", "no image given; set RunOptions.Image (e.g. \"docker.io/library/alpine:latest\")")
	}
	if err := checkImageRef(o.Image); err != nil {
		return nil, err
	}
	args := []string{verb}
	for _, f := range runFlags {
		vals := f.values(o)
		if len(vals) == 0 {
			continue
		}
		if f.check != nil {
			if err := f.check(o); err != nil {
				return nil, err
			}
		}
		if f.feature != "" && !v.IsZero() {
			if err := CheckFeature(v, f.feature); err != nil {
				return nil, err
			}
		}
		for _, val := range vals {
			if val == "" {
				args = append(args, f.flag)
			} else {
				args = append(args, f.flag, val)
			}
		}
	}
	if !v.IsZero() {
		if err := checkValueFeatures(o, v); err != nil {
			return nil, err
		}
	}
	extra, err := checkExtraFlags(o.ExtraFlags, v)
	if err != nil {
		return nil, err
	}
	args = append(args, extra...)
	if verb == "run" {
		args = append(args, progressNone(v)...)
	}
	args = append(args, o.Image)
	return append(args, o.Args...), nil
}

// progressNone silences progress output: --progress none since 0.7.0,
// --disable-progress-updates before (§2.4).
func progressNone(v Version) []string {
	if v.IsZero() || has(v, FeatureProgressNone) {
		return []string{"--progress", "none"}
	}
	return []string{"--disable-progress-updates"}
}

// RunFeatures lists the gated features o needs, so callers can ask
// Supports before building argv.
func RunFeatures(o RunOptions) []Feature {
	var fs []Feature
	for _, f := range runFlags {
		if f.feature != "" && len(f.values(o)) > 0 && !slices.Contains(fs, f.feature) {
			fs = append(fs, f.feature)
		}
	}
	return append(fs, valueFeatures(o)...)
}

func checkValueFeatures(o RunOptions, v Version) error {
	for _, f := range valueFeatures(o) {
		if err := CheckFeature(v, f); err != nil {
			return err
		}
	}
	return nil
}

// valueFeatures are gates that depend on a flag's value, not its presence.
func valueFeatures(o RunOptions) []Feature {
	var fs []Feature
	for _, n := range o.Networks {
		spec := parseNetworkSpec(n)
		if spec.name == "none" {
			fs = append(fs, FeatureNetworkNone)
		}
		if spec.mac != "" {
			fs = append(fs, FeatureNetworkMAC)
		}
		if spec.mtu != "" {
			fs = append(fs, FeatureNetworkMTU)
		}
	}
	return fs
}

func checkName(o RunOptions) error { return ValidName(o.Name) }

func checkCPUs(o RunOptions) error {
	if o.CPUs < 0 {
		return inputf("CPUs", "%d is negative; use 0 for the default or a count >= 1", o.CPUs)
	}
	return nil
}

// minMemory is the CLI's minimum (0.10.0+).
const minMemory = 200 << 20

func checkMemory(o RunOptions) error {
	switch {
	case o.MemoryBytes < 0:
		return inputf("MemoryBytes (--memory)", "%d bytes is negative; use 0 for the default (1 GiB)", o.MemoryBytes)
	case o.MemoryBytes < minMemory:
		return inputf("MemoryBytes (--memory)", "minimum memory amount allowed is 200 MiB (got %d bytes); give at least %d bytes", o.MemoryBytes, minMemory)
	}
	return nil
}

// renderMemory writes bytes with a unit the CLI parses: whole MiB as "<n>M"
// (units are binary and case-insensitive), else a bare number (= bytes).
func renderMemory(b int64) string {
	switch {
	case b == 0:
		return ""
	case b%(1<<20) == 0:
		return strconv.FormatInt(b>>20, 10) + "M"
	}
	return strconv.FormatInt(b, 10)
}

func checkImageRef(ref string) error {
	if len(ref) > 0 && ref[0] == '-' {
		return inputf("Image", "%q starts with '-'; it would be read as an option", ref)
	}
	for _, ch := range ref {
		if ch <= ' ' || ch == 0x7f {
			return inputf("Image", "%q contains whitespace or control characters", ref)
		}
	}
	return nil
}

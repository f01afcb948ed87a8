package tart

import (
	"math"
	"regexp"
	"strconv"
	"time"
)

// PullArgs builds `tart pull` argv (without the binary).
func PullArgs(image string, o PullOptions) ([]string, error) {
	if err := validateRemoteName("pull image", image); err != nil {
		return nil, err
	}
	if o.Concurrency < 0 {
		return nil, usagef("pull concurrency %d is negative; use 0 for tart's default or a value >= 1", o.Concurrency)
	}
	args := []string{"pull", image}
	if o.Concurrency > 0 {
		args = append(args, "--concurrency", strconv.Itoa(o.Concurrency))
	}
	if o.Insecure {
		args = append(args, "--insecure")
	}
	return args, nil
}

// CloneArgs builds `tart clone` argv.
func CloneArgs(src, dst string, o CloneOptions) ([]string, error) {
	if err := validateVMName("clone source", src); err != nil {
		return nil, err
	}
	if err := validateLocalName("clone target", dst); err != nil {
		return nil, err
	}
	if o.Concurrency < 0 {
		return nil, usagef("clone concurrency %d is negative; use 0 for tart's default or a value >= 1", o.Concurrency)
	}
	if o.PruneLimitGB < 0 {
		return nil, usagef("clone prune limit %d GB is negative", o.PruneLimitGB)
	}
	args := []string{"clone", src, dst}
	if o.Concurrency > 0 {
		args = append(args, "--concurrency", strconv.Itoa(o.Concurrency))
	}
	if o.Insecure {
		args = append(args, "--insecure")
	}
	if o.PruneLimitGB > 0 {
		args = append(args, "--prune-limit", strconv.Itoa(o.PruneLimitGB))
	}
	return args, nil
}

func cloneFeatures(o CloneOptions) []Feature {
	var fs []Feature
	if o.Concurrency > 0 {
		fs = append(fs, FeatureConcurrency)
	}
	if o.PruneLimitGB > 0 {
		fs = append(fs, FeaturePruneLimit)
	}
	return fs
}

func pullFeatures(o PullOptions) []Feature {
	if o.Concurrency > 0 {
		return []Feature{FeatureConcurrency}
	}
	return nil
}

var displayRe = regexp.MustCompile(`^([1-9][0-9]{0,4})x([1-9][0-9]{0,4})(pt|px)?$`)

// SetArgs builds `tart set` argv. An empty SetOptions is refused: tart would
// still rewrite the config (it clears displayRefit).
func SetArgs(name string, o SetOptions) ([]string, error) {
	if err := validateVMName("VM name", name); err != nil {
		return nil, err
	}
	args := []string{"set", name}
	switch {
	case o.CPU < 0:
		return nil, usagef("CPU count %d is negative", o.CPU)
	case o.CPU > math.MaxUint16:
		return nil, usagef("CPU count %d is too large (max %d)", o.CPU, math.MaxUint16)
	case o.CPU > 0:
		args = append(args, "--cpu", strconv.Itoa(o.CPU))
	}
	switch {
	case o.MemoryMB < 0:
		return nil, usagef("memory %d MB is negative", o.MemoryMB)
	case o.MemoryMB > 0:
		args = append(args, "--memory", strconv.Itoa(o.MemoryMB))
	}
	switch {
	case o.DiskSizeGB < 0:
		return nil, usagef("disk size %d GB is negative", o.DiskSizeGB)
	case o.DiskSizeGB > math.MaxUint16:
		return nil, usagef("disk size %d GB is too large (max %d)", o.DiskSizeGB, math.MaxUint16)
	case o.DiskSizeGB > 0:
		args = append(args, "--disk-size", strconv.Itoa(o.DiskSizeGB))
	}
	if o.Display != "" {
		if !displayRe.MatchString(o.Display) {
			return nil, usagef("display %q is invalid; use WIDTHxHEIGHT with an optional pt or px suffix, e.g. 1920x1080", o.Display)
		}
		args = append(args, "--display", o.Display)
	}
	if o.DisplayRefit != nil {
		if *o.DisplayRefit {
			args = append(args, "--display-refit")
		} else {
			args = append(args, "--no-display-refit")
		}
	}
	if o.RandomMAC {
		args = append(args, "--random-mac")
	}
	if o.RandomSerial {
		args = append(args, "--random-serial")
	}
	if len(args) == 2 {
		return nil, usagef("nothing to set for VM %q; give at least one of CPU, MemoryMB, DiskSizeGB, Display, DisplayRefit, RandomMAC, RandomSerial", name)
	}
	return args, nil
}

func setFeatures(o SetOptions) []Feature {
	var fs []Feature
	if o.RandomMAC {
		fs = append(fs, FeatureRandomMAC)
	}
	if o.RandomSerial {
		fs = append(fs, FeatureRandomSerial)
	}
	if o.DisplayRefit != nil {
		fs = append(fs, FeatureDisplayRefit)
	}
	if m := displayRe.FindStringSubmatch(o.Display); m != nil && m[3] != "" {
		fs = append(fs, FeatureDisplayUnit)
	}
	return fs
}

// GetArgs builds `tart get <name> --format json`.
func GetArgs(name string) ([]string, error) {
	if err := validateVMName("VM name", name); err != nil {
		return nil, err
	}
	return []string{"get", name, "--format", "json"}, nil
}

// ListArgs builds `tart list --format json`.
func ListArgs(o ListOptions) ([]string, error) {
	args := []string{"list", "--format", "json"}
	switch o.Source {
	case "":
	case "local", "oci":
		args = append(args, "--source", o.Source)
	default:
		return nil, usagef("list source %q is invalid; use \"local\", \"oci\" or \"\" for both", o.Source)
	}
	return args, nil
}

// IPArgs builds `tart ip` argv.
func IPArgs(name string, o IPOptions) ([]string, error) {
	if err := validateVMName("VM name", name); err != nil {
		return nil, err
	}
	args := []string{"ip", name}
	if o.Wait < 0 {
		return nil, usagef("ip wait %s is negative", o.Wait)
	}
	if o.Wait > 0 {
		secs := ceilSeconds(o.Wait)
		if secs > math.MaxUint16 {
			return nil, usagef("ip wait %s is too long (max %d s)", o.Wait, math.MaxUint16)
		}
		args = append(args, "--wait", strconv.FormatInt(secs, 10))
	}
	switch o.Resolver {
	case ResolverDefault:
	case ResolverDHCP, ResolverARP, ResolverAgent:
		args = append(args, "--resolver", string(o.Resolver))
	default:
		return nil, usagef("ip resolver %q is invalid; use dhcp, arp or agent", string(o.Resolver))
	}
	return args, nil
}

func ipFeatures(o IPOptions) []Feature {
	switch o.Resolver {
	case ResolverAgent:
		return []Feature{FeatureResolverAgent}
	case ResolverARP, ResolverDHCP:
		return []Feature{FeatureResolverARP} // --resolver itself appeared with arp
	}
	return nil
}

// StopArgs builds `tart stop`. timeout <= 0 keeps tart's default (30 s);
// otherwise it is rounded up to whole seconds.
func StopArgs(name string, timeout time.Duration) ([]string, error) {
	if err := validateVMName("VM name", name); err != nil {
		return nil, err
	}
	args := []string{"stop", name}
	if timeout > 0 {
		args = append(args, "--timeout", strconv.FormatInt(ceilSeconds(timeout), 10))
	}
	return args, nil
}

// SuspendArgs builds `tart suspend`.
func SuspendArgs(name string) ([]string, error) {
	if err := validateVMName("VM name", name); err != nil {
		return nil, err
	}
	return []string{"suspend", name}, nil
}

// DeleteArgs builds `tart delete a b ...`.
func DeleteArgs(names ...string) ([]string, error) {
	if len(names) == 0 {
		return nil, usagef("delete needs at least one VM name")
	}
	args := []string{"delete"}
	for _, n := range names {
		if err := validateVMName("VM name", n); err != nil {
			return nil, err
		}
		args = append(args, n)
	}
	return args, nil
}

// ExecArgs builds `tart exec [-i] [-t] <name> <argv...>`. Flags must come
// before the name: everything after it goes to the guest verbatim.
func ExecArgs(name string, argv []string, o ExecOptions) ([]string, error) {
	if err := validateVMName("VM name", name); err != nil {
		return nil, err
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, usagef("exec needs a command to run in VM %q", name)
	}
	args := []string{"exec"}
	if o.Interactive {
		args = append(args, "-i")
	}
	if o.TTY {
		args = append(args, "-t")
	}
	args = append(args, name)
	return append(args, argv...), nil
}

// FQNArgs builds `tart fqn`.
func FQNArgs(name string) ([]string, error) {
	if err := validateVMName("VM name", name); err != nil {
		return nil, err
	}
	return []string{"fqn", name}, nil
}

// PruneArgs builds `tart prune`.
func PruneArgs(o PruneOptions) ([]string, error) {
	args := []string{"prune"}
	switch o.Entries {
	case "":
	case "caches", "vms":
		args = append(args, "--entries", o.Entries)
	default:
		return nil, usagef("prune entries %q is invalid; use \"caches\" or \"vms\"", o.Entries)
	}
	if o.OlderThanDays < 0 || o.SpaceBudgetGB < 0 {
		return nil, usagef("prune criteria must not be negative")
	}
	if o.OlderThanDays > 0 {
		args = append(args, "--older-than", strconv.Itoa(o.OlderThanDays))
	}
	if o.SpaceBudgetGB > 0 {
		args = append(args, "--space-budget", strconv.Itoa(o.SpaceBudgetGB))
	}
	if o.OlderThanDays == 0 && o.SpaceBudgetGB == 0 {
		return nil, usagef("prune needs at least one criterion: OlderThanDays or SpaceBudgetGB")
	}
	return args, nil
}

func pruneFeatures(o PruneOptions) []Feature {
	if o.Entries == "vms" || o.SpaceBudgetGB > 0 {
		return []Feature{FeaturePruneEntriesVMs}
	}
	return nil
}

func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

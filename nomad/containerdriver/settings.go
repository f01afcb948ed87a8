package containerdriver

import (
	"fmt"
	"net/netip"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/tartanhq/tartan/applecontainer"
	"github.com/tartanhq/tartan/nomad/naming"
)

// Labels the driver puts on every container. The alloc and task labels are
// how the orphan sweep and a restarted task recognise the driver's
// containers; extra_labels add more under the same prefix (Docker driver
// convention).
const (
	labelPrefix   = "com.hashicorp.nomad."
	labelAllocID  = labelPrefix + "alloc_id"
	labelTaskName = labelPrefix + "task_name"
	labelDriver   = labelPrefix + "driver"
)

// extraLabelKeys are what extra_labels patterns can select.
var extraLabelKeys = []string{"job_name", "job_id", "task_group_name", "task_name", "namespace", "node_name", "node_id"}

// maxTaskPart keeps "<task part>-<alloc ID>" within the CLI's 63-character
// container ID limit.
const maxTaskPart = 63 - 36 - 1

// Nomad's directories as the container sees them (FSIsolation image: the
// NOMAD_*_DIR variables Nomad sets point here).
const (
	containerAllocDir   = "/alloc"
	containerLocalDir   = "/local"
	containerSecretsDir = "/secrets"
)

var (
	platformRE    = regexp.MustCompile(`^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$`)
	networkNameRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?$`)
	hostnameRE    = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?$`)
)

// taskSettings is a task config checked against the plugin config and the
// task's Nomad context, with every default applied. It is built before
// anything touches the host, so a bad option costs nothing.
type taskSettings struct {
	Run applecontainer.RunOptions // everything of `container create` but the environment
	// Env is the container's environment (K=V, sorted). It goes to the CLI
	// in an --env-file, never on its command line.
	Env         []string
	Credentials *applecontainer.Credentials
	PullTimeout time.Duration
	ForcePull   bool
	// NamedByHostname: the container ID is the task's hostname option
	// (Apple container has no --hostname; the ID is the hostname).
	NamedByHostname bool
	// VolumeHostDirs are host paths of volumes that must exist (checked at
	// start, with the option named).
	VolumeHostDirs map[string]string
}

// containerName derives the container ID from the task and allocation:
// valid for the CLI, at most 63 characters, unique per task of an
// allocation and stable across restarts of the task.
func containerName(allocID, task string) string {
	return naming.Part(task, maxTaskPart) + "-" + allocID
}

func parseDuration(option, s, def string) (time.Duration, error) {
	if s == "" {
		s = def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, badOption(option, s, "want a positive duration such as 90s or 10m")
	}
	return d, nil
}

// resolve validates tc against the plugin config pc and the task cfg, and
// maps it to `container create` options.
func resolve(tc *TaskConfig, pc *PluginConfig, cfg *drivers.TaskConfig) (*taskSettings, error) {
	s := &taskSettings{ForcePull: tc.ForcePull, VolumeHostDirs: map[string]string{}}
	r := &s.Run
	r.Image = strings.TrimSpace(tc.Image)
	if r.Image == "" {
		return nil, badOption("image", "", "is required: an OCI reference such as docker.io/library/busybox:latest")
	}
	if strings.ContainsAny(r.Image, " \t\n") {
		return nil, badOption("image", tc.Image, "must not contain spaces")
	}

	if err := resolveName(tc, cfg, s); err != nil {
		return nil, err
	}
	if tc.Command != "" {
		r.Args = append(r.Args, tc.Command)
	}
	r.Args = append(r.Args, tc.Args...)
	r.Entrypoint = tc.Entrypoint
	if tc.Platform != "" && !platformRE.MatchString(tc.Platform) {
		return nil, badOption("platform", tc.Platform, "want os/arch[/variant], e.g. linux/arm64 or linux/amd64")
	}
	r.Platform = tc.Platform
	if tc.WorkingDir != "" && !path.IsAbs(tc.WorkingDir) {
		return nil, badOption("working_dir", tc.WorkingDir, "must be an absolute path in the container")
	}
	r.Workdir = tc.WorkingDir
	r.User = firstNonEmpty(tc.User, cfg.User)

	env, err := resolveEnv(tc, cfg)
	if err != nil {
		return nil, err
	}
	s.Env = env
	if err := resolveResources(cfg, r); err != nil {
		return nil, err
	}
	if err := resolveMounts(tc, pc, cfg, s); err != nil {
		return nil, err
	}
	if err := resolveNetwork(tc, cfg, r); err != nil {
		return nil, err
	}
	labels, err := resolveLabels(tc, pc, cfg)
	if err != nil {
		return nil, err
	}
	r.Labels = labels

	for _, c := range []struct {
		opt  string
		caps []string
	}{{"cap_add", tc.CapAdd}, {"cap_drop", tc.CapDrop}} {
		for _, v := range c.caps {
			if strings.TrimSpace(v) == "" || strings.ContainsAny(v, " ,=") {
				return nil, badOption(c.opt, v, "want a capability name such as NET_ADMIN, CAP_NET_ADMIN or ALL")
			}
		}
	}
	r.CapAdd, r.CapDrop = tc.CapAdd, tc.CapDrop
	r.ReadOnly, r.Init, r.TTY = tc.ReadonlyRootfs, tc.Init, tc.TTY
	r.Rosetta, r.SSH, r.Virtualization = tc.Rosetta, tc.SSHAgent, tc.Virtualization

	auth := tc.Auth
	if auth.Username == "" && auth.Password == "" {
		auth = pc.Auth
		if auth.Username == "" && auth.Password == "" && tc.Auth.ServerAddress != "" {
			return nil, badOption("auth.server_address", tc.Auth.ServerAddress, "needs username and password")
		}
	}
	if (auth.Username == "") != (auth.Password == "") {
		return nil, badOption("auth", "", "needs both username and password")
	}
	if auth.Username != "" {
		s.Credentials = &applecontainer.Credentials{Username: auth.Username, Password: auth.Password, ServerAddress: auth.ServerAddress}
	}
	if s.PullTimeout, err = parseDuration("image_pull_timeout", firstNonEmpty(tc.ImagePullTimeout, pc.ImagePullTimeout), defaultImagePullTimeout); err != nil {
		return nil, err
	}
	return s, nil
}

// resolveName picks the container ID: the hostname option when set (the
// ID is the hostname in Apple container), else derived from the task.
func resolveName(tc *TaskConfig, cfg *drivers.TaskConfig, s *taskSettings) error {
	if tc.Hostname == "" {
		s.Run.Name = containerName(cfg.AllocID, cfg.Name)
		return nil
	}
	h := tc.Hostname
	if len(h) > 63 || !hostnameRE.MatchString(h) || applecontainer.ValidName(h) != nil {
		return badOption("hostname", h, "Apple container has no --hostname flag: the container's ID is its hostname, so the hostname must be a valid ID and host name: 2-63 characters of letters, digits, '-' and '.', starting and ending with a letter or digit")
	}
	s.Run.Name, s.NamedByHostname = h, true
	return nil
}

// resolveEnv is Nomad's task environment with the task's env on top.
func resolveEnv(tc *TaskConfig, cfg *drivers.TaskConfig) ([]string, error) {
	merged := map[string]string{}
	for k, v := range cfg.Env {
		merged[k] = v
	}
	for k, v := range tc.Env {
		merged[k] = v
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		v := merged[k]
		if k == "" || strings.ContainsAny(k, "= \t\n") {
			return nil, badOption("env", k, "variable names must not be empty or contain '=', spaces or newlines")
		}
		if strings.ContainsAny(v, "\n\r") {
			// --env-file is line based; the command line would show secrets.
			return nil, badOption("env", k, "the value contains a newline, which Apple container's --env-file cannot carry; write it to a file (e.g. a template under secrets/) and read it from /secrets instead")
		}
		out = append(out, k+"="+v)
	}
	return out, nil
}

// resolveResources maps resources.cores and resources.memory (or
// memory_max, the VM's upper bound, when larger).
func resolveResources(cfg *drivers.TaskConfig, r *applecontainer.RunOptions) error {
	if cfg.Resources == nil || cfg.Resources.NomadResources == nil {
		return nil
	}
	nr := cfg.Resources.NomadResources
	r.CPUs = len(nr.Cpu.ReservedCores)
	mem := max(nr.Memory.MemoryMB, nr.Memory.MemoryMaxMB)
	if mem > 0 && mem < minMemoryMB {
		return badOption("resources.memory", fmt.Sprint(mem), "Apple container gives every container its own VM and refuses less than %d MiB; set memory = %d or more in the task's resources block", minMemoryMB, minMemoryMB)
	}
	r.MemoryBytes = mem << 20
	return nil
}

// resolveMounts adds Nomad's directories, volume_mount blocks, the task's
// volumes and tmpfs mounts.
func resolveMounts(tc *TaskConfig, pc *PluginConfig, cfg *drivers.TaskConfig, s *taskSettings) error {
	r := &s.Run
	if cfg.AllocDir != "" {
		td := cfg.TaskDir()
		r.Volumes = append(r.Volumes,
			td.SharedAllocDir+":"+containerAllocDir,
			td.LocalDir+":"+containerLocalDir,
			td.SecretsDir+":"+containerSecretsDir)
	}
	for _, m := range cfg.Mounts {
		if m == nil {
			continue
		}
		spec := m.HostPath + ":" + m.TaskPath
		if m.Readonly {
			spec += ":ro"
		}
		r.Volumes = append(r.Volumes, spec)
	}
	for i, v := range tc.Volumes {
		spec, err := resolveVolume(i, v, pc, cfg, s)
		if err != nil {
			return err
		}
		r.Volumes = append(r.Volumes, spec)
	}
	for _, p := range tc.Tmpfs {
		if !path.IsAbs(p) || strings.Contains(p, ":") {
			return badOption("tmpfs", p, "want an absolute container path (Apple container's --tmpfs takes no options)")
		}
	}
	r.Tmpfs = tc.Tmpfs
	return nil
}

// resolveVolume checks one "host:container[:options]" entry. A relative
// host path is inside the task directory (and allowed without
// volumes.enabled, as it cannot leave the allocation); an absolute one or a
// named volume needs volumes.enabled.
func resolveVolume(i int, v string, pc *PluginConfig, cfg *drivers.TaskConfig, s *taskSettings) (string, error) {
	opt := fmt.Sprintf("volumes[%d]", i)
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" {
		return "", badOption(opt, v, "want host:container[:options], e.g. local/conf:/etc/app:ro")
	}
	src, dst := parts[0], parts[1]
	if !path.IsAbs(dst) {
		return "", badOption(opt, v, "the container path %q must be absolute", dst)
	}
	if len(parts) == 3 {
		for _, o := range strings.Split(parts[2], ",") {
			if o != "ro" && o != "rw" {
				return "", badOption(opt, v, "unknown option %q: Apple container's -v takes ro or rw", o)
			}
		}
	}
	named := !strings.ContainsAny(src, `/\`) && src != "." && src != ".."
	switch {
	case filepath.IsAbs(src) || named:
		if !pc.Volumes.Enabled {
			return "", badOption(opt, v, "host paths outside the task directory and named volumes need volumes { enabled = true } in the plugin config; or use a path relative to the task directory such as local/data")
		}
	default:
		if cfg.AllocDir == "" {
			return "", badOption(opt, v, "a relative host path needs the task directory")
		}
		abs := filepath.Join(cfg.TaskDir().Dir, src)
		if rel, err := filepath.Rel(cfg.AllocDir, abs); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return "", badOption(opt, v, "a relative host path must stay inside the allocation directory")
		}
		src = abs
	}
	if !named {
		s.VolumeHostDirs[src] = opt
	}
	parts[0] = src
	return strings.Join(parts, ":"), nil
}

// resolveNetwork maps network_mode, ports and DNS.
func resolveNetwork(tc *TaskConfig, cfg *drivers.TaskConfig, r *applecontainer.RunOptions) error {
	mode := strings.TrimSpace(tc.NetworkMode)
	switch {
	case mode == "" || mode == "default":
	case mode == "none":
		r.Networks = []string{"none"}
	case mode == "host":
		return badOption("network_mode", mode, "Apple container has no host networking: every container is a VM with its own address on a vmnet network. Remove network_mode and publish the ports the host must reach with ports = [...] (from the group's network block)")
	case strings.HasPrefix(mode, "task:") || strings.HasPrefix(mode, "container:"):
		return badOption("network_mode", mode, "Apple container cannot join another container's network namespace (each container is its own VM). Let the tasks talk over published ports on the host (NOMAD_ADDR_<label>), or put them on one named network (network_mode = \"<name>\", macOS 26) and use the other container's name as its host name")
	case mode == "bridge":
		return badOption("network_mode", mode, "there is no bridge mode; containers are on Apple container's default network already: remove network_mode")
	default:
		if !networkNameRE.MatchString(mode) {
			return badOption("network_mode", mode, "want default, none or the name of a network made with `container network create` (lowercase letters, digits, '.', '_', '-')")
		}
		r.Networks = []string{mode}
	}

	if len(tc.Ports) > 0 {
		if mode == "none" {
			return badOption("ports", strings.Join(tc.Ports, ","), "cannot be published with network_mode = \"none\"")
		}
		if cfg.Resources == nil || cfg.Resources.Ports == nil {
			return badOption("ports", strings.Join(tc.Ports, ","), "the task's group has no network block with these port labels")
		}
		ports := *cfg.Resources.Ports
		var known []string
		for _, p := range ports {
			known = append(known, p.Label)
		}
		for _, label := range tc.Ports {
			p, ok := ports.Get(label)
			if !ok {
				return badOption("ports", label, "no such port label in the group's network block (labels: %s)", strings.Join(known, ", "))
			}
			to := p.To
			if to <= 0 {
				to = p.Value
			}
			r.Publish = append(r.Publish, applecontainer.Port{HostIP: p.HostIP, HostPort: p.Value, ContainerPort: to, Proto: "tcp"})
		}
	}

	r.DNS, r.DNSSearch, r.DNSOptions = tc.DNS, tc.DNSSearch, tc.DNSOptions
	if cfg.DNS != nil {
		if len(r.DNS) == 0 {
			r.DNS = cfg.DNS.Servers
		}
		if len(r.DNSSearch) == 0 {
			r.DNSSearch = cfg.DNS.Searches
		}
		if len(r.DNSOptions) == 0 {
			r.DNSOptions = cfg.DNS.Options
		}
	}
	for _, d := range r.DNS {
		if _, err := netip.ParseAddr(d); err != nil {
			return badOption("dns", d, "want an IP address of a DNS server")
		}
	}
	return nil
}

// resolveLabels: the driver's identity labels, extra_labels, the task's.
func resolveLabels(tc *TaskConfig, pc *PluginConfig, cfg *drivers.TaskConfig) (map[string]string, error) {
	labels := map[string]string{}
	for k, v := range tc.Labels {
		if k == "" || strings.Contains(k, "=") || strings.Contains(v, "=") {
			return nil, badOption("labels", k, "keys must be non-empty and neither key nor value may contain '=' (Apple container rejects them)")
		}
		if strings.HasPrefix(k, labelPrefix) {
			return nil, badOption("labels", k, "the %s prefix is reserved for the driver's own labels", labelPrefix)
		}
		labels[k] = v
	}
	values := map[string]string{
		"job_name": cfg.JobName, "job_id": cfg.JobID, "task_group_name": cfg.TaskGroupName,
		"task_name": cfg.Name, "namespace": cfg.Namespace, "node_name": cfg.NodeName, "node_id": cfg.NodeID,
	}
	for _, key := range extraLabelKeys {
		for _, pat := range pc.ExtraLabels {
			if ok, _ := path.Match(pat, key); ok {
				if v := strings.ReplaceAll(values[key], "=", "-"); v != "" {
					labels[labelPrefix+key] = v
				}
				break
			}
		}
	}
	labels[labelAllocID] = cfg.AllocID
	labels[labelTaskName] = strings.ReplaceAll(cfg.Name, "=", "-")
	labels[labelDriver] = PluginName
	return labels, nil
}

// validateExtraLabels checks the plugin's extra_labels patterns.
func validateExtraLabels(patterns []string) error {
	for _, p := range patterns {
		if _, err := path.Match(p, ""); err != nil || p == "" {
			return badOption("extra_labels", p, "is not a valid glob pattern; use names such as job_name or patterns such as task*")
		}
		matched := false
		for _, k := range extraLabelKeys {
			if ok, _ := path.Match(p, k); ok {
				matched = true
			}
		}
		if !matched {
			return badOption("extra_labels", p, "matches none of %s", strings.Join(extraLabelKeys, ", "))
		}
	}
	return nil
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// Package gitlab implements the GitLab Runner custom executor for Tart:
// the four stages (config, prepare, run, cleanup), the admin settings and
// the job overrides an admin allows.
//
// Stages are separate processes. What survives between them: the
// deterministic VM name, the VM itself, job_env from config, and a small
// state record in the host state directory (see state.go).
package gitlab

import (
	"time"
)

// Settings are the admin's choices (flags or the TOML file named with
// --config), possibly overridden by a job for the keys listed in
// JobOverridable. Every field has a row in fields() with its key, default
// and help: that table drives flags, the TOML loader, job overrides and the
// docs.
type Settings struct {
	// tart
	TartBinary string
	TartHome   string
	AutoPrune  bool

	// images
	DefaultImage       string
	AllowedImages      []string
	DeniedImages       []string
	PullPolicy         string
	PullConcurrency    int
	InsecureRegistries []string

	// resources
	CPU          string
	Memory       string
	Concurrency  int
	DiskSize     int
	Display      string
	RootDiskOpts string
	Nested       bool
	Headless     bool
	VNC          bool

	// networking
	Network           string
	SoftnetAllow      []string
	SoftnetBlock      []string
	SoftnetExpose     []string
	BridgedInterfaces []string
	IPResolver        string

	// directories
	HostBuildsDir  string
	HostCacheDir   string
	GuestBuildsDir string
	GuestCacheDir  string
	Volumes        []string
	Disks          []string

	// guest access
	Transport   string
	SSHUser     string
	SSHPassword string
	SSHKeyFile  string
	SSHPort     int
	SSHHostKey  string
	Shell       string

	// bounds
	IPTimeout      time.Duration
	ReadyTimeout   time.Duration
	ConnectTimeout time.Duration
	SlotTimeout    time.Duration
	CancelGrace    time.Duration

	// host-wide limits and bookkeeping
	SlotsDir   string
	MacOSLimit int
	LinuxLimit int
	StateDir   string
	OrphanAge  time.Duration

	// gitlab-runner inside the guest
	GuestRunner        string
	GuestRunnerVersion string
	GuestRunnerForce   bool
	GuestRunnerCache   string
	GuestRunnerPath    string

	// optional behaviour
	KeepFailedVM     bool
	KeepFailedFor    time.Duration
	KeychainUnlock   bool
	KeychainPassword string
	Timezone         string

	// warm starts (warm.go, docs/warm-start.md)
	WarmStart    bool
	WarmDir      string
	WarmBudgetGB int
	WarmUpScript string

	// JobOverridable lists the keys a job may set through variables.
	JobOverridable []string

	// InternetSharingPlist is the macOS NAT settings file read for the
	// DHCP lease check (injectable for tests).
	InternetSharingPlist string
}

// field is one setting: its key (TOML key; flag = key with '-'), where it
// lives, its default as text, and who may change it.
type field struct {
	Key     string
	Ptr     any // *string, *bool, *int, *time.Duration, *[]string
	Default string
	Help    string
	// Locked keys can never be job-overridable: they guard the host and
	// the other jobs (networking isolation, credentials, host paths).
	Locked bool
	// Secret values are masked in logs and never enter a job's environment.
	Secret bool
	// Legacy are variable names of existing executors accepted (when the
	// key is job-overridable) to ease migration.
	Legacy []legacyName
}

// legacyName maps a variable of another executor to this key. Convert
// turns its value into ours ("" = take it as is).
type legacyName struct {
	Name    string
	Convert func(string) (string, error)
}

func plain(names ...string) []legacyName {
	out := make([]legacyName, len(names))
	for i, n := range names {
		out[i] = legacyName{Name: n}
	}
	return out
}

// fields binds every setting of s. Order is the documentation order.
func (s *Settings) fields() []field {
	return []field{
		{Key: "tart_binary", Ptr: &s.TartBinary, Locked: true, Help: "path of the tart binary; empty = PATH, then /opt/homebrew/bin/tart, /usr/local/bin/tart"},
		{Key: "tart_home", Ptr: &s.TartHome, Locked: true, Help: "TART_HOME for tart; empty = tart's default (~/.tart)"},
		{Key: "auto_prune", Ptr: &s.AutoPrune, Default: "true", Locked: true, Help: "let tart prune its OCI cache when disk space runs low (false sets TART_NO_AUTO_PRUNE)"},

		{Key: "default_image", Ptr: &s.DefaultImage, Help: "image used when the job has no `image:`"},
		{Key: "allowed_images", Ptr: &s.AllowedImages, Locked: true, Help: "glob patterns (`*` stops at `/`, `**` crosses it); when set, only matching images run"},
		{Key: "denied_images", Ptr: &s.DeniedImages, Locked: true, Help: "regular expressions in Python `re` syntax (lookahead and lookbehind allowed), matched anywhere in the image name like re.search; a matching image is refused"},
		{Key: "pull_policy", Ptr: &s.PullPolicy, Default: "if-not-present", Help: "always | if-not-present | never", Legacy: append(plain("TART_PULL_POLICY"), legacyName{Name: "TART_EXECUTOR_ALWAYS_PULL", Convert: alwaysPullToPolicy})},
		{Key: "pull_concurrency", Ptr: &s.PullConcurrency, Default: "4", Help: "parallel layer downloads of tart pull", Legacy: plain("TART_EXECUTOR_PULL_CONCURRENCY")},
		{Key: "insecure_registries", Ptr: &s.InsecureRegistries, Locked: true, Help: "registry hosts (host[:port], globs allowed) pulled over plain HTTP"},

		{Key: "cpu", Ptr: &s.CPU, Help: "CPU cores: a number, `auto` (host cores / concurrency) or empty (image default)", Legacy: plain("TART_EXECUTOR_CPU")},
		{Key: "memory", Ptr: &s.Memory, Help: "memory in MiB: a number, `auto` (host memory / concurrency) or empty (image default)", Legacy: plain("TART_EXECUTOR_MEMORY")},
		{Key: "concurrency", Ptr: &s.Concurrency, Default: "2", Help: "how many VMs share the host when cpu or memory is `auto`"},
		{Key: "disk_size", Ptr: &s.DiskSize, Help: "grow the VM disk to this many GB (0 = image size)", Legacy: plain("TART_EXECUTOR_DISK_SIZE")},
		{Key: "display", Ptr: &s.Display, Help: "display WxH, e.g. 1920x1200 (empty = image default)", Legacy: plain("TART_EXECUTOR_DISPLAY")},
		{Key: "root_disk_opts", Ptr: &s.RootDiskOpts, Help: "boot disk options: sync=none|fsync|full, caching=automatic|cached|uncached", Legacy: plain("TART_EXECUTOR_ROOT_DISK_OPTS")},
		{Key: "nested", Ptr: &s.Nested, Default: "false", Help: "nested virtualisation (Linux guests, M3+ host, macOS 15+)", Legacy: boolLegacy("TART_EXECUTOR_NESTED")},
		{Key: "headless", Ptr: &s.Headless, Default: "true", Help: "run without a window", Legacy: boolLegacy("TART_EXECUTOR_HEADLESS")},
		{Key: "vnc", Ptr: &s.VNC, Default: "false", Help: "start tart's VNC server (the URL goes to the tart run log, not the job log)", Legacy: boolLegacy("TART_EXECUTOR_VNC_ENABLED")},

		{Key: "network", Ptr: &s.Network, Default: "nat", Locked: true, Help: "nat | softnet | bridged | host", Legacy: []legacyName{{Name: "TART_EXECUTOR_SOFTNET_ENABLED", Convert: softnetToNetwork}, {Name: "TART_EXECUTOR_SOFTNET", Convert: softnetToNetwork}}},
		{Key: "softnet_allow", Ptr: &s.SoftnetAllow, Locked: true, Help: "CIDRs a Softnet VM may reach besides the internet", Legacy: plain("TART_EXECUTOR_SOFTNET_ALLOW")},
		{Key: "softnet_block", Ptr: &s.SoftnetBlock, Locked: true, Help: "CIDRs a Softnet VM may not reach"},
		{Key: "softnet_expose", Ptr: &s.SoftnetExpose, Locked: true, Help: "TCP port forwards external:internal into a Softnet VM"},
		{Key: "bridged_interfaces", Ptr: &s.BridgedInterfaces, Locked: true, Help: "host interfaces for network = bridged, e.g. en0", Legacy: plain("TART_EXECUTOR_BRIDGED")},
		{Key: "ip_resolver", Ptr: &s.IPResolver, Help: "how `tart ip` finds the guest: dhcp | arp | agent; empty = arp when bridged, else dhcp", Legacy: plain("TART_EXECUTOR_IP_RESOLVER")},

		{Key: "host_builds_dir", Ptr: &s.HostBuildsDir, Locked: true, Help: "host directory shared into every VM as the builds dir (concurrent jobs get separate paths), or `per-job` for a fresh host dir removed at cleanup; empty = builds stay on the VM disk"},
		{Key: "host_cache_dir", Ptr: &s.HostCacheDir, Locked: true, Help: "host directory shared into every VM as the local cache dir; empty = cache on the VM disk"},
		{Key: "guest_builds_dir", Ptr: &s.GuestBuildsDir, Default: "/var/tmp/builds", Locked: true, Help: "builds dir path inside the guest"},
		{Key: "guest_cache_dir", Ptr: &s.GuestCacheDir, Default: "/var/tmp/cache", Locked: true, Help: "cache dir path inside the guest"},
		{Key: "volumes", Ptr: &s.Volumes, Locked: true, Help: "extra shares host:guest[:ro]"},
		{Key: "disks", Ptr: &s.Disks, Locked: true, Help: "extra disks path[:ro][,sync=…][,caching=…] (tart run --disk syntax)"},

		{Key: "transport", Ptr: &s.Transport, Default: "auto", Help: "how commands reach the guest: auto (agent if it answers, else SSH) | agent | ssh", Legacy: plain("TART_EXECUTOR_TRANSPORT")},
		{Key: "ssh_user", Ptr: &s.SSHUser, Default: "admin", Locked: true, Help: "SSH user in the guest", Legacy: plain("TART_SSH_USERNAME", "TART_EXECUTOR_SSH_USERNAME")},
		{Key: "ssh_password", Ptr: &s.SSHPassword, Default: "admin", Locked: true, Secret: true, Help: "SSH password (masked in logs, never in a job's environment)", Legacy: plain("TART_SSH_PASSWORD", "TART_EXECUTOR_SSH_PASSWORD")},
		{Key: "ssh_key_file", Ptr: &s.SSHKeyFile, Locked: true, Help: "private key file for SSH (tried before the password)"},
		{Key: "ssh_port", Ptr: &s.SSHPort, Default: "22", Locked: true, Help: "SSH port of the guest"},
		{Key: "ssh_host_key", Ptr: &s.SSHHostKey, Locked: true, Help: "pin the guest's SSH host key (SHA256:… fingerprint); empty = not checked"},
		{Key: "shell", Ptr: &s.Shell, Default: "bash", Help: "shell GitLab generates scripts for and that runs them in the guest: bash, sh, or an absolute guest path such as /opt/homebrew/bin/bash; zsh or /bin/zsh (the Python driver's default) = bash scripts run inside a zsh login environment (its profile's PATH), since GitLab generates no zsh scripts", Legacy: plain("TART_EXECUTOR_SHELL")},

		{Key: "ip_timeout", Ptr: &s.IPTimeout, Default: "2m", Help: "bound on waiting for the guest's IP address", Legacy: []legacyName{{Name: "TART_EXECUTOR_TIMEOUT", Convert: secondsToDuration}}},
		{Key: "ready_timeout", Ptr: &s.ReadyTimeout, Default: "2m", Help: "bound on waiting for SSH or the guest agent once the IP is known"},
		{Key: "connect_timeout", Ptr: &s.ConnectTimeout, Default: "30s", Help: "bound on reconnecting to the guest (agent or SSH) at the start of each run stage"},
		{Key: "slot_timeout", Ptr: &s.SlotTimeout, Default: "30m", Locked: true, Help: "bound on waiting for a free VM slot (keep it below prepare_exec_timeout)"},
		{Key: "cancel_grace", Ptr: &s.CancelGrace, Default: "10s", Help: "after SIGTERM, how long the guest script may take to exit before the stage gives up (keep it below graceful_kill_timeout)"},

		{Key: "slots_dir", Ptr: &s.SlotsDir, Default: "/var/tmp/tartan-slots", Locked: true, Help: "host-wide slot lock directory shared by every Tartan process"},
		{Key: "macos_limit", Ptr: &s.MacOSLimit, Default: "2", Locked: true, Help: "running macOS VMs allowed on the host (Apple's limit is 2)"},
		{Key: "linux_limit", Ptr: &s.LinuxLimit, Default: "0", Locked: true, Help: "running Linux VMs allowed on the host (0 = unlimited)"},
		{Key: "state_dir", Ptr: &s.StateDir, Default: "/var/tmp/tartan-gitlab", Locked: true, Help: "host directory for per-job records, tart run logs and per-job dirs; share it between runner sections"},
		{Key: "orphan_age", Ptr: &s.OrphanAge, Default: "10m", Locked: true, Help: "a VM of this executor whose runner is gone is deleted once it is this old"},

		{Key: "guest_runner", Ptr: &s.GuestRunner, Default: "off", Help: "gitlab-runner in the guest (artifacts, caches): off | check (warn when missing) | install (from guest_runner_cache)", Legacy: []legacyName{{Name: "TART_EXECUTOR_INSTALL_GITLAB_RUNNER", Convert: installRunnerToMode}}},
		{Key: "guest_runner_version", Ptr: &s.GuestRunnerVersion, Help: "gitlab-runner version to install; empty = the host runner's CI_RUNNER_VERSION"},
		{Key: "guest_runner_force", Ptr: &s.GuestRunnerForce, Default: "false", Help: "reinstall even when the guest already has that version"},
		{Key: "guest_runner_cache", Ptr: &s.GuestRunnerCache, Default: "/var/tmp/tartan-gitlab-runner", Locked: true, Help: "host dir with <version>/gitlab-runner-<os>-<arch> binaries, shared read-only into the guest"},
		{Key: "guest_runner_path", Ptr: &s.GuestRunnerPath, Default: "/usr/local/bin/gitlab-runner", Locked: true, Help: "where the guest's gitlab-runner is installed"},

		{Key: "keep_failed_vm", Ptr: &s.KeepFailedVM, Default: "false", Help: "keep (stopped) the VM of a failed job for debugging; never after a cancel"},
		{Key: "keep_failed_for", Ptr: &s.KeepFailedFor, Default: "2h", Locked: true, Help: "how long a kept VM lives before the sweeper deletes it"},
		{Key: "keychain_unlock", Ptr: &s.KeychainUnlock, Default: "false", Help: "unlock the guest login keychain before the job (macOS code signing)", Legacy: boolLegacy("TART_EXECUTOR_KEYCHAIN_UNLOCK")},
		{Key: "keychain_password", Ptr: &s.KeychainPassword, Locked: true, Secret: true, Help: "login keychain password; empty = ssh_password"},
		{Key: "timezone", Ptr: &s.Timezone, Help: "guest time zone, e.g. Europe/Berlin, or `auto` (the host's)", Legacy: plain("TART_EXECUTOR_TIMEZONE")},

		{Key: "warm_start", Ptr: &s.WarmStart, Default: "false", Locked: true, Help: "resume macOS jobs from per-slot suspended snapshots instead of booting (docs/warm-start.md; unverified on real Macs, hence off by default); snapshots are built after jobs, in the slot a job just released"},
		{Key: "warm_dir", Ptr: &s.WarmDir, Default: "/var/tmp/tartan-warm", Locked: true, Help: "warm snapshot state shared by every Tartan process on the host (metadata, build locks, demand marks, build logs)"},
		{Key: "warm_budget_gb", Ptr: &s.WarmBudgetGB, Default: "0", Locked: true, Help: "disk budget of the warm snapshots in GB (each costs its written disk plus about its RAM); least recently used ones are evicted; 0 = no cap"},
		{Key: "warm_up_script", Ptr: &s.WarmUpScript, Locked: true, Help: "host path of a script run in the guest (by /bin/sh) before a snapshot is suspended; changing it rebuilds the snapshots"},

		{Key: "job_overridable", Ptr: &s.JobOverridable, Locked: true, Help: "keys a job may set with TARTAN_<KEY> variables (or the legacy names); locked keys are refused"},
		{Key: "internet_sharing_plist", Ptr: &s.InternetSharingPlist, Default: "/Library/Preferences/SystemConfiguration/com.apple.InternetSharing.default.plist", Locked: true, Help: "macOS NAT settings read to warn about 24 h DHCP leases"},
	}
}

// DefaultSettings returns the settings with every default applied.
func DefaultSettings() *Settings {
	s := &Settings{}
	for _, f := range s.fields() {
		if f.Default == "" {
			continue
		}
		if err := setValue(f, []string{f.Default}); err != nil {
			panic("gitlab: bad default for " + f.Key + ": " + err.Error())
		}
	}
	return s
}

// JobVariable is the variable a job sets to override key.
func JobVariable(key string) string {
	return "TARTAN_" + upper(key)
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

package containersim

import (
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// defaultCaps is the capability set a container gets before --cap-add and
// --cap-drop (the usual OCI engine default; Apple reduced its own in 0.12.0).
var defaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

var allCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
	"CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
	"CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
}

func effectiveCaps(add, drop []string) []string {
	set := map[string]bool{}
	for _, c := range defaultCaps {
		set[c] = true
	}
	for _, c := range drop {
		if c == "CAP_ALL" {
			set = map[string]bool{}
			continue
		}
		delete(set, c)
	}
	for _, c := range add {
		if c == "CAP_ALL" {
			for _, a := range allCaps {
				set[a] = true
			}
			continue
		}
		set[c] = true
	}
	var out []string
	for _, c := range allCaps {
		if set[c] {
			out = append(out, c)
		}
	}
	return out
}

// rlimitType is the RLIMIT_ name of a recorded limit.
func rlimitType(l string) string {
	u := strings.ToUpper(l)
	if strings.HasPrefix(u, "RLIMIT_") {
		return u
	}
	return "RLIMIT_" + u
}

// runcSpec builds the OCI runtime config of a container.
func (e *env) runcSpec(c *container, extraMounts []specs.Mount) *specs.Spec {
	cfg := &c.Config
	args := append([]string{cfg.InitProcess.Executable}, cfg.InitProcess.Arguments...)
	if cfg.UseInit {
		if bb := e.initBusybox(); bb != "" {
			extraMounts = append(extraMounts, specs.Mount{Destination: simInitBusybox, Type: "bind", Source: bb,
				Options: []string{"bind", "ro", "rprivate"}})
			args = append([]string{simInitBusybox, "sh", "-c", simInitScript, "container-sim-init"}, args...)
		}
	}
	caps := effectiveCaps(cfg.CapAdd, cfg.CapDrop)
	var rl []specs.POSIXRlimit
	for _, r := range cfg.InitProcess.Rlimits {
		rl = append(rl, specs.POSIXRlimit{Type: rlimitType(r.Limit), Soft: r.Soft, Hard: r.Hard})
	}
	if len(rl) == 0 {
		rl = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 1024}}
	}
	s := &specs.Spec{
		Version: "1.0.2",
		Process: &specs.Process{
			Terminal: cfg.InitProcess.Terminal,
			User:     specs.User{UID: c.Opts.UID, GID: c.Opts.GID, AdditionalGids: c.Opts.Groups},
			Args:     args,
			Env:      cfg.InitProcess.Environment,
			Cwd:      cfg.InitProcess.WorkingDirectory,
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: caps, Permitted: caps,
			},
			Rlimits: rl,
		},
		Root:     &specs.Root{Path: filepath.Join(c.Bundle, "rootfs"), Readonly: cfg.ReadOnly},
		Hostname: c.ID,
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=" + shmSize(cfg)}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}, {Type: specs.UTSNamespace},
				{Type: specs.IPCNamespace}, {Type: specs.NetworkNamespace, Path: e.netnsPath(c.ID)},
			},
			CgroupsPath: e.cgroupName(c.ID),
			Resources:   &specs.LinuxResources{},
			MaskedPaths: []string{"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"},
			ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
	s.Mounts = append(s.Mounts, extraMounts...)
	s.Linux.MaskedPaths = applyPathFlags(s.Linux.MaskedPaths, cfg.MaskedPaths)
	s.Linux.ReadonlyPaths = applyPathFlags(s.Linux.ReadonlyPaths, cfg.ReadonlyPaths)
	if m := int64(cfg.Resources.MemoryInBytes); m > 0 && e.cgroupMemoryWorks() {
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &m}
	}
	if cfg.Resources.CPUs > 0 {
		period := uint64(100000)
		quota := int64(cfg.Resources.CPUs) * int64(period)
		s.Linux.Resources.CPU = &specs.LinuxCPU{Period: &period, Quota: &quota}
	}
	return s
}

// applyPathFlags adds --masked-path/--read-only-path values; NONE drops the
// defaults.
func applyPathFlags(defaults, flags []string) []string {
	out := defaults
	for _, p := range flags {
		if p == "NONE" {
			out = nil
			continue
		}
		out = append(out, p)
	}
	return out
}

func shmSize(cfg *ContainerConfig) string {
	if cfg.ShmSize != nil && *cfg.ShmSize > 0 {
		return fmt.Sprint(*cfg.ShmSize)
	}
	return "65536k"
}

// --init: the host's statically linked busybox runs a small shell init as
// PID 1 that starts the process, forwards TERM/INT/HUP/QUIT/USR1/USR2 to it,
// reaps orphans (ash waits for every child) and exits with its status.
const simInitBusybox = "/.container-sim-init/busybox"

const simInitScript = `exec 3<&0
"$@" <&3 3<&- &
child=$!
for s in TERM INT HUP QUIT USR1 USR2 WINCH; do trap "kill -$s $child 2>/dev/null" $s; done
while :; do
	wait $child
	rc=$?
	kill -0 $child 2>/dev/null || exit $rc
done`

// initBusybox is CONTAINER_SIM_INIT_BUSYBOX or /usr/bin/busybox when that
// file exists ("" = --init is only recorded).
func (e *env) initBusybox() string {
	p := e.getenv("CONTAINER_SIM_INIT_BUSYBOX")
	if p == "" {
		p = "/usr/bin/busybox"
	}
	if fileExists(p) {
		return p
	}
	return ""
}

// cgroupName is unique per app root: tests run several roots with the
// same container IDs side by side.
func (e *env) cgroupName(id string) string {
	return "container-sim-" + controlAddr(e.root)[len("@container-sim-"):][:8] + "-" + id
}

// cgroupMemoryWorks: limits are enforced when the memory controller is
// mounted (v1) or the unified hierarchy is there; otherwise only recorded.
func (e *env) cgroupMemoryWorks() bool {
	if e.knobSet("CONTAINER_SIM_NO_CGROUP_LIMITS") {
		return false
	}
	for _, p := range []string{"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/cgroup.controllers"} {
		if fileExists(p) {
			return true
		}
	}
	return false
}

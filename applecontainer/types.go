package applecontainer

import (
	"net/netip"
	"time"
)

// State is a container's runtime status (§6). A created, never started
// container is "stopped"; there is no exit code in the CLI's JSON.
type State string

const (
	StateRunning  State = "running"
	StateStopped  State = "stopped"
	StateStopping State = "stopping"
	StateUnknown  State = "unknown"
)

// Container is one object of `inspect` / `list --format json`, from either
// the 1.x shape or the pre-1.0 one.
type Container struct {
	ID          string
	Image       string // normalized reference, e.g. docker.io/library/nginx:latest
	ImageDigest string
	State       State
	IPv4        []netip.Prefix // from the network attachments, e.g. 192.168.64.3/24
	Networks    []Attachment
	Labels      map[string]string
	StartedAt   time.Time // zero if never started since the apiserver loaded it; kept after stop
	CreatedAt   time.Time // 1.0.0+
	Config      ContainerConfig
}

// Attachment is one network attachment of a running container.
type Attachment struct {
	Network  string
	Hostname string
	IPv4     netip.Prefix
	Gateway  netip.Addr
	IPv6     netip.Prefix
	MAC      string
}

// ContainerConfig is the part of `configuration` drivers use.
type ContainerConfig struct {
	CPUs        int
	MemoryBytes int64
	Ports       []Port
	Mounts      []MountInfo
	Init        Process
	Platform    string // os/arch[/variant]
	Networks    []string
	ReadOnly    bool
	UseInit     bool
	Rosetta     bool
	StopSignal  string
	CapAdd      []string
	CapDrop     []string
}

// MountInfo is one configured mount.
type MountInfo struct {
	Type        string // virtiofs, tmpfs, block, volume
	Source      string
	Destination string
	Options     []string
}

// Process is the container's init process.
type Process struct {
	Executable string
	Args       []string
	Env        []string
	Workdir    string
	Terminal   bool
	User       string // "uid:gid" or the raw user string
}

// Stats is one object of `stats --no-stream --format json`. Every field but
// ID is optional (nil when the CLI omits it, 0.8.0+).
type Stats struct {
	ID               string
	CPUUsageUsec     *uint64
	MemoryUsageBytes *uint64
	MemoryLimitBytes *uint64
	NetRxBytes       *uint64
	NetTxBytes       *uint64
	BlockReadBytes   *uint64
	BlockWriteBytes  *uint64
	NumProcesses     *uint64
}

// Image is one local image (`image list/inspect --format json`).
type Image struct {
	Reference string // normalized reference
	Digest    string // of the index or manifest the reference points at
	MediaType string
	Size      int64    // descriptor size (pre-1.0 fullSize when present)
	Platforms []string // os/arch[/variant] of the variants (1.x)
	CreatedAt time.Time
}

// Network is one object of `network list --format json`.
type Network struct {
	ID          string
	Mode        string // nat, hostOnly
	IPv4Subnet  netip.Prefix
	IPv4Gateway netip.Addr
	Labels      map[string]string
}

// SystemStatus is `container system status`. Not running is not an error.
type SystemStatus struct {
	Running          bool
	Status           string // "running", "not running", "unregistered", ...
	AppRoot          string
	InstallRoot      string
	LogRoot          string
	APIServerVersion string // bare version when known ("1.2.2")
	APIServerCommit  string
}

// VersionInfo is one element of `system version --format json`.
type VersionInfo struct {
	AppName   string
	Version   string
	BuildType string
	Commit    string
}

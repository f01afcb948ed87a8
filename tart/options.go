package tart

import (
	"io"
	"os"
	"time"
)

// Options configure a Client.
type Options struct {
	Binary      string   // explicit path; "" = $PATH, then /opt/homebrew/bin/tart, /usr/local/bin/tart
	Home        string   // TART_HOME for the child; "" = inherit
	NoAutoPrune bool     // sets TART_NO_AUTO_PRUNE=1
	Env         []string // extra KEY=VALUE for every child (appended to os.Environ()); TART_REGISTRY_* is refused, use Credentials
}

// Credentials for a registry. They only ever reach tart through
// TART_REGISTRY_USERNAME/PASSWORD/HOSTNAME in the environment of the one
// child that needs them.
type Credentials struct {
	Username, Password string
	Hostname           string // optional: tart applies them only to this host[:port]
}

// String never shows the password.
func (c Credentials) String() string {
	return "Credentials{Username:" + c.Username + " Password:<redacted> Hostname:" + c.Hostname + "}"
}

// GoString keeps %#v from printing the password.
func (c Credentials) GoString() string { return c.String() }

// PullOptions for `tart pull`.
type PullOptions struct {
	Concurrency int  // --concurrency (0 = tart default 4)
	Insecure    bool // --insecure (plain HTTP registry)
	Credentials *Credentials
	Progress    func(line string) // every stdout line as it arrives (progress "15%", status lines)
}

// CloneOptions for `tart clone` (source may be remote: it is pulled first).
type CloneOptions struct {
	Concurrency  int
	Insecure     bool
	Credentials  *Credentials
	Progress     func(line string)
	PruneLimitGB int // --prune-limit (0 = tart default 100)
}

// SetOptions for `tart set`. Zero fields are left unchanged.
type SetOptions struct {
	CPU          int
	MemoryMB     int
	DiskSizeGB   int    // grow only
	Display      string // "WxH", "WxHpt" or "WxHpx"
	DisplayRefit *bool  // --display-refit / --no-display-refit
	RandomMAC    bool
	RandomSerial bool
}

// ListOptions for `tart list`.
type ListOptions struct {
	Source string // "" (all), "local" or "oci"
}

// Resolver for `tart ip`.
type Resolver string

// IP resolvers.
const (
	ResolverDefault Resolver = ""
	ResolverDHCP    Resolver = "dhcp"
	ResolverARP     Resolver = "arp"
	ResolverAgent   Resolver = "agent"
)

// IPOptions for `tart ip`.
type IPOptions struct {
	Wait     time.Duration // --wait, rounded up to whole seconds (max 65535 s)
	Resolver Resolver
}

// ExecOptions for `tart exec`.
type ExecOptions struct {
	Interactive bool // -i: forward Stdin (nil Stdin with -i sends EOF at once)
	TTY         bool // -t: guest PTY; only with a terminal on the host side
	Stdin       io.Reader
	Stdout      io.Writer // nil = discard
	Stderr      io.Writer // nil = discard
}

// PruneOptions for `tart prune`. At least one criterion is required.
type PruneOptions struct {
	Entries       string // "caches" (default) or "vms"
	OlderThanDays int
	SpaceBudgetGB int
}

// Share is one `--dir` virtiofs share.
type Share struct {
	Name     string // optional when it is the only share with its tag
	Path     string // absolute host path or http(s) URL of a .tar.gz
	ReadOnly bool
	Tag      string // "" = com.apple.virtio-fs.automount
}

// Sync modes for disks.
const (
	SyncNone  = "none"
	SyncFsync = "fsync"
	SyncFull  = "full"
)

// Caching modes for disks.
const (
	CachingAutomatic = "automatic"
	CachingCached    = "cached"
	CachingUncached  = "uncached"
)

// DiskOptions for the root disk (`--root-disk-opts`).
type DiskOptions struct {
	Sync    string // "", none, fsync, full
	Caching string // "", automatic, cached, uncached
}

// Disk is one extra `--disk`.
type Disk struct {
	Path     string // image file, block device, remote VM name or nbd:// URL
	ReadOnly bool
	Sync     string
	Caching  string
}

// NetMode selects the VM's networking.
type NetMode string

// Network modes.
const (
	NetShared  NetMode = ""        // default NAT (also "shared")
	NetBridged NetMode = "bridged" // --net-bridged
	NetSoftnet NetMode = "softnet" // --net-softnet (+ allow/block/expose)
	NetHost    NetMode = "host"    // --net-host
)

// Network describes `tart run` networking. Mode may be left empty when the
// other fields make it obvious (Bridged set => bridged, Softnet* set =>
// softnet).
type Network struct {
	Mode          NetMode
	Bridged       []string // interface names, e.g. "en0", "Wi-Fi"
	SoftnetAllow  []string // CIDRs
	SoftnetBlock  []string // CIDRs
	SoftnetExpose []string // "external:internal" TCP port pairs
}

// RunOptions cover every `tart run` flag (tart-cli.md §8.2).
type RunOptions struct {
	NoGraphics      bool
	Graphics        bool
	VNC             bool
	VNCExperimental bool
	Dirs            []Share
	Disks           []Disk
	RootDisk        DiskOptions
	Net             Network
	Suspendable     bool
	Nested          bool
	Rosetta         string // virtiofs tag for the Rosetta share (Linux guests)
	Serial          bool
	SerialPath      string
	NoAudio         bool
	NoClipboard     bool
	Recovery        bool

	// Extensions of the design contract (compatible additions).
	NoTrackpad        bool
	NoKeyboard        bool
	NoPointer         bool
	CaptureSystemKeys bool

	// LogPath receives tart run's stdout and stderr (appended). "" = a new
	// file in os.TempDir().
	LogPath string
	// ExtraFiles are inherited by `tart run` as fds 3, 4, ... (slot locks:
	// the lock then lives exactly as long as the VM process).
	ExtraFiles []*os.File
	// StartTimeout bounds how long Run waits for the VM to show as running
	// (tart run first waits for tart's global lock). 0 = 60 s.
	StartTimeout time.Duration
	// StartSettle is how long Run keeps watching after the VM shows as
	// running, to catch failures reported right after the lock is taken
	// (the VM limit). 0 = 500 ms; negative = do not wait.
	StartSettle time.Duration
}

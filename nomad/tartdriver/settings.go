package tartdriver

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tartanhq/tartan/tart"
)

// Guest transports (task option guest_transport).
const (
	transportAuto  = "auto"
	transportAgent = "agent"
	transportSSH   = "ssh"
)

// Pull policies (task option pull_policy).
const (
	pullMissing = "missing" // pull when the image is not in tart's OCI cache
	pullAlways  = "always"  // pull before every start (refreshes moving tags)
	pullNever   = "never"   // never pull; the image must be cached or local
)

// taskSettings is a task config checked against the plugin config, with
// every default applied and every string option parsed. It is built before
// anything touches the host, so a bad option costs no clone.
type taskSettings struct {
	Image            string
	CPU, MemoryMB    int // 0 = from the task's resources (see resources.go)
	DiskSizeGB       int
	Command          []string // argv run in the guest; nil = the task is the VM
	Transport        string
	SSHUser          string
	SSHPassword      string
	SSHPrivateKey    []byte
	SSHPort          int
	PullPolicy       string
	Credentials      *tart.Credentials
	PullTimeout      time.Duration
	ReadyTimeout     time.Duration
	Display          string
	RandomMAC        bool
	WorkDir          string
	ConsoleLog       bool            // a VM-only Linux task's serial console goes to its stdout log
	Run              tart.RunOptions // without Dirs for the task dirs, LogPath, ExtraFiles
	SoftnetRequested bool
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

// resolve validates tc and merges the plugin's defaults into it. taskDir
// (may be "") anchors relative ssh_private_key paths.
func resolve(tc *TaskConfig, pc *PluginConfig) (*taskSettings, error) {
	return resolveIn(tc, pc, "")
}

func resolveIn(tc *TaskConfig, pc *PluginConfig, taskDir string) (*taskSettings, error) {
	s := &taskSettings{Image: strings.TrimSpace(tc.Image), RandomMAC: tc.RandomMAC, WorkDir: tc.WorkDir, ConsoleLog: tc.ConsoleLog}
	if s.Image == "" {
		return nil, badOption("image", "", "is required: a local VM name or an OCI reference such as ghcr.io/cirruslabs/macos-sequoia-base:latest")
	}
	if err := imageAllowed(s.Image, pc.AllowedImages, pc.DeniedImages); err != nil {
		return nil, err
	}
	for _, n := range []struct {
		opt string
		v   int
		max int
	}{{"cpu", tc.CPU, 1024}, {"memory", tc.Memory, 1 << 22}, {"disk_size", tc.DiskSize, 65535}, {"ssh_port", tc.SSHPort, 65535}} {
		if n.v < 0 || n.v > n.max {
			return nil, badOption(n.opt, fmt.Sprint(n.v), "must be between 0 and %d", n.max)
		}
	}
	s.CPU, s.MemoryMB, s.DiskSizeGB = tc.CPU, tc.Memory, tc.DiskSize

	switch {
	case tc.Command == "" && len(tc.Args) > 0:
		return nil, badOption("args", strings.Join(tc.Args, " "), "needs command: args are passed to it")
	case tc.Command != "" && len(tc.Args) > 0:
		// command is the program, args its arguments: no shell in between.
		s.Command = append([]string{tc.Command}, tc.Args...)
	case tc.Command != "":
		// command alone is a shell line, as in the earlier driver.
		s.Command = []string{"/bin/sh", "-c", tc.Command}
	}

	switch tc.GuestTransport {
	case "", transportAuto:
		s.Transport = transportAuto
	case transportAgent, transportSSH:
		s.Transport = tc.GuestTransport
	default:
		return nil, badOption("guest_transport", tc.GuestTransport, "must be auto, agent or ssh")
	}
	s.SSHUser = firstNonEmpty(tc.SSHUser, pc.SSHUser, defaultSSHUser)
	s.SSHPort = firstPositive(tc.SSHPort, pc.SSHPort, defaultSSHPort)
	// A task that names its own user brings its own secret: the plugin's
	// default password belongs to the plugin's default user.
	s.SSHPassword = tc.SSHPassword
	if tc.SSHPassword == "" && (tc.SSHUser == "" || tc.SSHUser == pc.SSHUser) {
		s.SSHPassword = pc.SSHPassword
	}
	keyRef := tc.SSHPrivateKey
	if keyRef != "" && taskDir != "" && !filepath.IsAbs(keyRef) && !strings.HasPrefix(strings.TrimSpace(keyRef), "-----BEGIN") {
		// A path relative to the task dir, e.g. "secrets/id_ed25519" rendered
		// by a template. It must stay inside the task dir.
		joined := filepath.Join(taskDir, keyRef)
		if !strings.HasPrefix(joined, filepath.Clean(taskDir)+string(filepath.Separator)) {
			return nil, badOption("ssh_private_key", keyRef, "a relative key path must stay inside the task directory")
		}
		keyRef = joined
	}
	key, err := loadPrivateKey("ssh_private_key", firstNonEmpty(keyRef, pc.SSHPrivateKey))
	if err != nil {
		return nil, err
	}
	s.SSHPrivateKey = key
	if s.Command != nil && s.Transport == transportSSH && s.SSHPassword == "" && len(s.SSHPrivateKey) == 0 {
		return nil, fmt.Errorf("%w: guest_transport is ssh but neither ssh_password nor ssh_private_key is set (task or plugin config); set one, or use guest_transport = \"agent\" with an image that runs the Tart Guest Agent", ErrNoCredentials)
	}

	switch tc.PullPolicy {
	case "", pullMissing:
		s.PullPolicy = pullMissing
	case pullAlways, pullNever:
		s.PullPolicy = tc.PullPolicy
	default:
		return nil, badOption("pull_policy", tc.PullPolicy, "must be missing, always or never")
	}
	auth := tc.Auth
	if auth.Username == "" && auth.Password == "" {
		auth = pc.Auth
	}
	if (auth.Username == "") != (auth.Password == "") {
		return nil, badOption("auth", "", "needs both username and password")
	}
	if auth.Username != "" {
		s.Credentials = &tart.Credentials{Username: auth.Username, Password: auth.Password, Hostname: auth.Server}
	}
	if s.PullTimeout, err = parseDuration("image_pull_timeout", firstNonEmpty(tc.ImagePullTimeout, pc.ImagePullTimeout), defaultImagePullTimeout); err != nil {
		return nil, err
	}
	if s.ReadyTimeout, err = parseDuration("ready_timeout", tc.ReadyTimeout, defaultReadyTimeout); err != nil {
		return nil, err
	}
	if tc.Display != "" && !displayRE.MatchString(tc.Display) {
		return nil, badOption("display", tc.Display, "want <width>x<height>, optionally with pt or px, e.g. 1920x1080")
	}
	s.Display = tc.Display
	if s.WorkDir != "" && !strings.HasPrefix(s.WorkDir, "/") && !strings.HasPrefix(s.WorkDir, "~") {
		return nil, badOption("work_dir", s.WorkDir, "must be an absolute guest path")
	}

	if err := resolveRun(tc, s); err != nil {
		return nil, err
	}
	return s, nil
}

// resolveRun fills the `tart run` flags that come straight from the config.
func resolveRun(tc *TaskConfig, s *taskSettings) error {
	r := &s.Run
	r.NoGraphics = tc.Headless
	r.Suspendable = tc.Suspendable
	r.Nested = tc.Nested
	if tc.Suspendable && tc.Nested {
		return badOption("suspendable", "true", "cannot be combined with nested: suspend is for macOS guests, nested virtualization for Linux guests")
	}
	for i, d := range tc.DiskMounts {
		if d.Path == "" {
			return badOption(fmt.Sprintf("disk_mount[%d].path", i), "", "is required")
		}
		o, err := parseDiskOptions("disk_mount.options", d.Options)
		if err != nil {
			return err
		}
		r.Disks = append(r.Disks, tart.Disk{Path: d.Path, ReadOnly: o.ReadOnly, Sync: o.Sync, Caching: o.Caching})
	}
	for i, d := range tc.DirShares {
		opt := fmt.Sprintf("dir_share[%d]", i)
		if d.Name != "" && !shareNameRE.MatchString(d.Name) {
			return badOption(opt+".name", d.Name, "use letters, digits, '.', '_' or '-'")
		}
		if reservedShares[d.Name] {
			return badOption(opt+".name", d.Name, "is reserved for Nomad's task directories (alloc, local, secrets); pick another name")
		}
		if d.Name == "" {
			// Nomad's own shares are always named, so every share must be.
			d.Name = filepath.Base(d.Path)
			if !shareNameRE.MatchString(d.Name) {
				return badOption(opt+".name", "", "is required for path %q", d.Path)
			}
		}
		if !filepath.IsAbs(d.Path) && !strings.HasPrefix(d.Path, "http://") && !strings.HasPrefix(d.Path, "https://") {
			return badOption(opt+".path", d.Path, "must be an absolute host path or an http(s) URL of a .tar.gz")
		}
		o, err := parseShareOptions(d.Options)
		if err != nil {
			return err
		}
		r.Dirs = append(r.Dirs, tart.Share{Name: d.Name, Path: d.Path, ReadOnly: o.ReadOnly, Tag: o.Tag})
	}
	if tc.RootDiskOptions != "" {
		o, err := parseDiskOptions("root_disk_options", tc.RootDiskOptions)
		if err != nil {
			return err
		}
		r.RootDisk = tart.DiskOptions{Sync: o.Sync, Caching: o.Caching}
	}

	modes := 0
	if tc.NetBridged != "" {
		modes++
		r.Net.Mode = tart.NetBridged
		r.Net.Bridged = splitList(tc.NetBridged)
	}
	allow, err := parseCIDRList("net_softnet_allow", tc.NetSoftnetAllow)
	if err != nil {
		return err
	}
	expose, err := parseExposeList(tc.NetSoftnetExpose)
	if err != nil {
		return err
	}
	if tc.NetSoftnet || len(allow) > 0 || len(expose) > 0 {
		modes++
		r.Net.Mode = tart.NetSoftnet
		r.Net.SoftnetAllow, r.Net.SoftnetExpose = allow, expose
		s.SoftnetRequested = true
	}
	if tc.NetHost {
		modes++
		r.Net.Mode = tart.NetHost
	}
	if modes > 1 {
		return badOption("net_bridged", tc.NetBridged, "net_bridged, net_softnet (or its allow/expose options) and net_host are mutually exclusive")
	}
	return nil
}

// loadPrivateKey accepts the PEM text itself (e.g. rendered by a template
// from Vault) or an absolute path to a key file readable by the plugin.
func loadPrivateKey(option, v string) ([]byte, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return nil, nil
	case strings.HasPrefix(v, "-----BEGIN"):
		return []byte(v + "\n"), nil
	case filepath.IsAbs(v):
		b, err := os.ReadFile(v)
		if err != nil {
			return nil, badOption(option, v, "cannot read key file: %v", err)
		}
		return b, nil
	}
	return nil, badOption(option, "<hidden>", "want PEM key text (-----BEGIN ...), an absolute host path, or a path relative to the task directory such as secrets/id_ed25519")
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

func firstPositive(v ...int) int {
	for _, n := range v {
		if n > 0 {
			return n
		}
	}
	return 0
}

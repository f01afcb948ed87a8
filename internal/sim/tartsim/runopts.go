package tartsim

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// runOptions are the flags of `tart run` (tart-cli.md §8.2).
var runOptions = []option{
	{Long: "no-graphics"}, {Long: "graphics", Since: "0.29.0", Hidden: true},
	{Long: "serial", Since: "1.1.0"}, {Long: "serial-path", Since: "1.1.0", Value: "serial-path"},
	{Long: "no-audio", Since: "2.6.0"}, {Long: "no-clipboard", Since: "2.10.0"}, {Long: "recovery", Since: "0.5.0"},
	{Long: "vnc", Since: "0.6.0"}, {Long: "vnc-experimental", Since: "0.15.0"},
	{Long: "disk", Since: "0.16.0", Value: "disk"}, {Long: "rosetta", Since: "0.35.0", Value: "tag"}, {Long: "dir", Since: "0.24.0", Value: "dir"},
	{Long: "nested", Since: "2.20.0"}, {Long: "net-bridged", Since: "0.28.0", Value: "interface name"},
	{Long: "net-softnet", Since: "0.31.0"}, {Long: "net-softnet-allow", Since: "2.7.1", Value: "comma-separated CIDRs"},
	{Long: "net-softnet-block", Since: "2.30.0", Value: "comma-separated CIDRs"},
	{Long: "net-softnet-expose", Since: "2.23.0", Value: "comma-separated port specifications"},
	{Long: "net-host", Since: "2.7.0"}, {Long: "root-disk-opts", Since: "2.16.0", Value: "options"},
	{Long: "suspendable", Since: "1.8.0"}, {Long: "capture-system-keys", Since: "2.3.0"},
	{Long: "no-trackpad", Since: "2.25.0"}, {Long: "no-pointer", Since: "2.29.0"}, {Long: "no-keyboard", Since: "2.29.0"},
}

// Recorded in vms/<name>/sim-run.json so tests can check what tart received.
type runShare struct {
	Name     string `json:"name"`
	Path     string `json:"path"`
	ReadOnly bool   `json:"readOnly"`
	Tag      string `json:"tag"`
}

type runDisk struct {
	Path     string `json:"path"`
	ReadOnly bool   `json:"readOnly"`
	Sync     string `json:"sync,omitempty"`
	Caching  string `json:"caching,omitempty"`
}

type runNet struct {
	Mode          string   `json:"mode"` // shared | bridged | softnet | host
	Bridged       []string `json:"bridged,omitempty"`
	SoftnetAllow  string   `json:"softnetAllow,omitempty"`
	SoftnetBlock  string   `json:"softnetBlock,omitempty"`
	SoftnetExpose string   `json:"softnetExpose,omitempty"`
}

type runConfig struct {
	Argv              []string   `json:"argv"`
	NoGraphics        bool       `json:"noGraphics"`
	Graphics          bool       `json:"graphics"`
	VNC               bool       `json:"vnc"`
	VNCExperimental   bool       `json:"vncExperimental"`
	Serial            bool       `json:"serial"`
	SerialPath        string     `json:"serialPath,omitempty"`
	NoAudio           bool       `json:"noAudio"`
	NoClipboard       bool       `json:"noClipboard"`
	Recovery          bool       `json:"recovery"`
	Rosetta           string     `json:"rosetta,omitempty"`
	Nested            bool       `json:"nested"`
	Suspendable       bool       `json:"suspendable"`
	CaptureSystemKeys bool       `json:"captureSystemKeys"`
	NoTrackpad        bool       `json:"noTrackpad"`
	NoPointer         bool       `json:"noPointer"`
	NoKeyboard        bool       `json:"noKeyboard"`
	Dirs              []runShare `json:"dirs"`
	Disks             []runDisk  `json:"disks"`
	RootDisk          runDisk    `json:"rootDisk"`
	Net               runNet     `json:"net"`
}

const defaultShareTag = "com.apple.virtio-fs.automount"

// bridgeInterfaces are the host interfaces the simulator pretends to have.
var bridgeInterfaces = [][2]string{{"en0", "Ethernet"}, {"en1", "Wi-Fi"}}

// buildRunConfig validates the flags in tart's order. osName is the guest OS.
// It returns errors already classified (usage 64 / failure 1 / runtime 1).
func buildRunConfig(c *command, p *parsed, osName string, argv []string) (*runConfig, error) {
	rc := &runConfig{
		Argv: argv, NoGraphics: p.flag("no-graphics"), Graphics: p.flag("graphics"),
		VNC: p.flag("vnc"), VNCExperimental: p.flag("vnc-experimental"),
		Serial: p.flag("serial"), SerialPath: p.str("serial-path", ""),
		NoAudio: p.flag("no-audio"), NoClipboard: p.flag("no-clipboard"), Recovery: p.flag("recovery"),
		Rosetta: p.str("rosetta", ""), Nested: p.flag("nested"), Suspendable: p.flag("suspendable"),
		CaptureSystemKeys: p.flag("capture-system-keys"), NoTrackpad: p.flag("no-trackpad"),
		NoPointer: p.flag("no-pointer"), NoKeyboard: p.flag("no-keyboard"),
		Dirs: []runShare{}, Disks: []runDisk{},
	}
	if rc.Graphics && rc.NoGraphics {
		return nil, c.usageErr("--graphics and --no-graphics are mutually exclusive")
	}
	if rc.VNC && rc.VNCExperimental {
		return nil, c.usageErr("--vnc and --vnc-experimental are mutually exclusive")
	}
	softnet := p.flag("net-softnet") || p.has("net-softnet-allow") || p.has("net-softnet-block") || p.has("net-softnet-expose")
	modes := 0
	for _, on := range []bool{len(p.all("net-bridged")) > 0, softnet, p.flag("net-host")} {
		if on {
			modes++
		}
	}
	if modes > 1 {
		return nil, c.usageErr("--net-bridged, --net-softnet and --net-host are mutually exclusive")
	}
	if rc.CaptureSystemKeys && (rc.NoGraphics || rc.VNC || rc.VNCExperimental) {
		return nil, c.usageErr("--captures-system-keys can only be used with the default VM view")
	}
	if rc.NoTrackpad && osName != "darwin" {
		return nil, c.usageErr("--no-trackpad can only be used with macOS VMs")
	}
	if rc.Suspendable {
		if osName != "darwin" {
			return nil, c.usageErr("You can only suspend macOS VMs")
		}
		if rc.NoTrackpad || rc.NoKeyboard || rc.NoPointer {
			return nil, c.usageErr("--suspendable cannot be used with --no-trackpad, --no-keyboard or --no-pointer")
		}
	}
	if rc.Nested && osName == "darwin" {
		return nil, failf("macOS virtual machines do not support nested virtualization")
	}
	for _, d := range p.all("disk") {
		disk, err := parseDiskSpec(c, d)
		if err != nil {
			return nil, err
		}
		rc.Disks = append(rc.Disks, disk)
	}
	for _, d := range p.all("dir") {
		share, err := parseDirSpec(d)
		if err != nil {
			return nil, err
		}
		rc.Dirs = append(rc.Dirs, share)
	}
	// Several shares with one tag must all be named (thrown from run(): root usage).
	byTag := map[string][]runShare{}
	for _, s := range rc.Dirs {
		byTag[s.Tag] = append(byTag[s.Tag], s)
	}
	for _, group := range byTag {
		if len(group) < 2 {
			continue
		}
		for _, s := range group {
			if s.Name == "" {
				return nil, rootUsageErr("invalid --dir syntax: for multiple directory shares each one of them should be named")
			}
		}
	}
	root, err := parseDiskOpts(p.str("root-disk-opts", ""))
	if err != nil {
		return nil, err
	}
	if root.Sync == "" {
		root.Sync = "full"
	}
	if root.Caching == "" {
		root.Caching = map[bool]string{true: "automatic", false: "cached"}[osName == "darwin"]
	}
	rc.RootDisk = root
	switch {
	case len(p.all("net-bridged")) > 0:
		rc.Net = runNet{Mode: "bridged"}
		for _, want := range p.all("net-bridged") {
			found := false
			for _, itf := range bridgeInterfaces {
				if want == itf[0] || want == itf[1] {
					found = true
				}
			}
			if !found {
				return nil, rootUsageErr(fmt.Sprintf(`no bridge interfaces matched "%s", available interfaces: %s`,
					swiftArray(p.all("net-bridged")), availableInterfaces()))
			}
			rc.Net.Bridged = append(rc.Net.Bridged, want)
		}
	case softnet:
		rc.Net = runNet{Mode: "softnet", SoftnetAllow: p.str("net-softnet-allow", ""),
			SoftnetBlock: p.str("net-softnet-block", ""), SoftnetExpose: p.str("net-softnet-expose", "")}
	case p.flag("net-host"):
		rc.Net = runNet{Mode: "host"}
	default:
		rc.Net = runNet{Mode: "shared"}
	}
	return rc, nil
}

// swiftArray renders a [String] like Swift's string interpolation: ["a", "b"].
func swiftArray(v []string) string {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func availableInterfaces() string {
	q := make([]string, len(bridgeInterfaces))
	for i, itf := range bridgeInterfaces {
		q[i] = fmt.Sprintf(`"%s (or \"%s\")"`, itf[0], itf[1])
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// parseDiskOpts parses "ro,sync=none,caching=cached" (options of --disk and --root-disk-opts).
func parseDiskOpts(s string) (runDisk, error) {
	var d runDisk
	if s == "" {
		return d, nil
	}
	for _, opt := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(opt, "=")
		switch k {
		case "ro":
			d.ReadOnly = true
		case "sync":
			if !contains([]string{"none", "fsync", "full"}, v) {
				return d, runtimeFailf("unsupported disk image synchronization mode: %q", v)
			}
			d.Sync = v
		case "caching":
			if !contains([]string{"automatic", "cached", "uncached"}, v) {
				return d, runtimeFailf("unsupported disk image caching mode: %q", v)
			}
			d.Caching = v
		default:
			return d, runtimeFailf("unsupported disk option: %q", opt)
		}
	}
	return d, nil
}

// parseDiskSpec parses --disk <path[:opts]>.
func parseDiskSpec(c *command, s string) (runDisk, error) {
	path, opts := s, ""
	if i := strings.LastIndex(s, ":"); i >= 0 && !strings.Contains(s[i+1:], "/") {
		path, opts = s[:i], s[i+1:]
	}
	if strings.HasSuffix(path, "-amd64.iso") {
		return runDisk{}, c.usageErr(fmt.Sprintf("Seems like you're trying to attach an amd64 ISO (%s) to an arm64 VM, which won't boot.", path))
	}
	d, err := parseDiskOpts(opts)
	if err != nil {
		return d, err
	}
	d.Path = path
	if strings.HasPrefix(path, "nbd") {
		return d, nil
	}
	if _, err := os.Stat(path); err != nil {
		return d, failf("Error Domain=NSCocoaErrorDomain Code=260 \"The file “%s” couldn’t be opened because there is no such file.\"", filepath.Base(path))
	}
	return d, nil
}

// parseDirSpec parses --dir <[name:]path[:ro][:tag=TAG]>.
func parseDirSpec(s string) (runShare, error) {
	parts := strings.Split(s, ":")
	sh := runShare{Tag: defaultShareTag}
	// Trailing option components.
	for len(parts) > 1 {
		last := parts[len(parts)-1]
		isOpt := true
		for _, o := range strings.Split(last, ",") {
			if o != "ro" && !strings.HasPrefix(o, "tag=") {
				isOpt = false
			}
		}
		if !isOpt {
			break
		}
		for _, o := range strings.Split(last, ",") {
			if o == "ro" {
				sh.ReadOnly = true
			} else {
				sh.Tag = strings.TrimPrefix(o, "tag=")
			}
		}
		parts = parts[:len(parts)-1]
	}
	switch {
	case len(parts) == 1:
		sh.Path = parts[0]
	case len(parts) == 2 && (parts[1] == "" || !strings.HasPrefix(parts[1], "//")):
		sh.Name, sh.Path = parts[0], parts[1]
	default:
		if strings.HasPrefix(s, "http") || strings.Contains(s, "://") {
			return sh, failf("tart-sim: remote --dir archives (%s) are not simulated", s)
		}
		return sh, rootUsageErr(fmt.Sprintf("invalid --dir syntax: %q", s))
	}
	if sh.Path == "" || sh.Tag == "" {
		return sh, rootUsageErr(fmt.Sprintf("invalid --dir syntax: %q", s))
	}
	if strings.HasPrefix(sh.Path, "http://") || strings.HasPrefix(sh.Path, "https://") {
		return sh, failf("tart-sim: remote --dir archives (%s) are not simulated", sh.Path)
	}
	abs, err := filepath.Abs(expandHome(sh.Path))
	if err != nil {
		return sh, failf("%v", err)
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return sh, failf("Error Domain=NSCocoaErrorDomain Code=260 \"The file “%s” couldn’t be opened because there is no such file.\"", filepath.Base(abs))
	}
	sh.Path = abs
	return sh, nil
}

func expandHome(p string) string {
	if strings.HasPrefix(p, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, p[2:])
		}
	}
	return p
}

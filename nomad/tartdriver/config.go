package tartdriver

import (
	"github.com/hashicorp/nomad/plugins/shared/hclspec"
)

// Defaults shared by the schemas, the docs and the validation code. They live
// in the specs (hclspec.NewDefault) so that an operator can always set a bool
// back to false.
const (
	defaultMaxMacOSVMs      = 2
	defaultImagePullTimeout = "30m"
	defaultReadyTimeout     = "5m"
	defaultGCGrace          = "2m"
	defaultSSHUser          = "admin"
	defaultSSHPassword      = "admin" // Cirrus Labs base images; operators can blank it
	defaultSSHPort          = 22
)

// PluginConfig is the `plugin "nomad-driver-tart" { config { ... } }` block.
// Every field is optional: a missing block must never stop the agent.
type PluginConfig struct {
	TartBinary       string       `codec:"tart_binary"`
	TartHome         string       `codec:"tart_home"`
	Auth             RegistryAuth `codec:"auth"`
	AllowedImages    []string     `codec:"allowed_images"`
	DeniedImages     []string     `codec:"denied_images"`
	MaxMacOSVMs      int          `codec:"max_macos_vms"`
	MaxLinuxVMs      int          `codec:"max_linux_vms"` // 0 = no limit
	GC               bool         `codec:"gc"`
	GCGrace          string       `codec:"gc_grace"`
	SSHUser          string       `codec:"ssh_user"`
	SSHPassword      string       `codec:"ssh_password"`
	SSHPrivateKey    string       `codec:"ssh_private_key"`
	SSHPort          int          `codec:"ssh_port"`
	ImagePullTimeout string       `codec:"image_pull_timeout"`
	AutoPrune        bool         `codec:"auto_prune"`
	SlotsDir         string       `codec:"slots_dir"`
	Warm             WarmConfig   `codec:"warm"` // warm starts (warm.go, docs/warm-start.md)
}

// RegistryAuth becomes TART_REGISTRY_* in the environment of one tart call.
type RegistryAuth struct {
	Username string `codec:"username"`
	Password string `codec:"password"`
	Server   string `codec:"server"`
}

// TaskConfig is a task's `config { ... }` block. The first group of options
// has the names and meanings of the earlier community Tart driver.
type TaskConfig struct {
	Image            string      `codec:"image"`
	CPU              int         `codec:"cpu"`
	Memory           int         `codec:"memory"`
	DiskSize         int         `codec:"disk_size"`
	Command          string      `codec:"command"`
	Headless         bool        `codec:"headless"`
	Suspendable      bool        `codec:"suspendable"`
	Nested           bool        `codec:"nested"`
	SSHUser          string      `codec:"ssh_user"`
	SSHPassword      string      `codec:"ssh_password"`
	SSHPort          int         `codec:"ssh_port"`
	DiskMounts       []DiskMount `codec:"disk_mount"`
	DirShares        []DirShare  `codec:"dir_share"`
	RootDiskOptions  string      `codec:"root_disk_options"`
	NetBridged       string      `codec:"net_bridged"`
	NetSoftnet       bool        `codec:"net_softnet"`
	NetSoftnetAllow  string      `codec:"net_softnet_allow"`
	NetSoftnetExpose string      `codec:"net_softnet_expose"`
	NetHost          bool        `codec:"net_host"`

	Args             []string     `codec:"args"`
	SSHPrivateKey    string       `codec:"ssh_private_key"`
	GuestTransport   string       `codec:"guest_transport"`
	PullPolicy       string       `codec:"pull_policy"`
	Auth             RegistryAuth `codec:"auth"`
	ImagePullTimeout string       `codec:"image_pull_timeout"`
	Display          string       `codec:"display"`
	RandomMAC        bool         `codec:"random_mac"`
	ReadyTimeout     string       `codec:"ready_timeout"`
	WorkDir          string       `codec:"work_dir"`
	ConsoleLog       bool         `codec:"console_log"`
	WarmStart        bool         `codec:"warm_start"` // resume the reserved slot's snapshot (plugin warm block)
}

// DiskMount is one `disk_mount { path options }` block (tart run --disk).
type DiskMount struct {
	Path    string `codec:"path"`
	Options string `codec:"options"`
}

// DirShare is one `dir_share { name path options }` block (tart run --dir).
type DirShare struct {
	Name    string `codec:"name"`
	Path    string `codec:"path"`
	Options string `codec:"options"`
}

func authSpec() *hclspec.Spec {
	return hclspec.NewBlock("auth", false, hclspec.NewObject(map[string]*hclspec.Spec{
		"username": hclspec.NewAttr("username", "string", false),
		"password": hclspec.NewAttr("password", "string", false),
		"server":   hclspec.NewAttr("server", "string", false),
	}))
}

func withDefault(name, typ, literal string) *hclspec.Spec {
	return hclspec.NewDefault(hclspec.NewAttr(name, typ, false), hclspec.NewLiteral(literal))
}

// pluginConfigSpec is the schema of the plugin block.
var pluginConfigSpec = hclspec.NewObject(map[string]*hclspec.Spec{
	"tart_binary":        hclspec.NewAttr("tart_binary", "string", false),
	"tart_home":          hclspec.NewAttr("tart_home", "string", false),
	"auth":               authSpec(),
	"allowed_images":     hclspec.NewAttr("allowed_images", "list(string)", false),
	"denied_images":      hclspec.NewAttr("denied_images", "list(string)", false),
	"max_macos_vms":      withDefault("max_macos_vms", "number", "2"),
	"max_linux_vms":      withDefault("max_linux_vms", "number", "0"),
	"gc":                 withDefault("gc", "bool", "true"),
	"gc_grace":           withDefault("gc_grace", "string", `"`+defaultGCGrace+`"`),
	"ssh_user":           withDefault("ssh_user", "string", `"`+defaultSSHUser+`"`),
	"ssh_password":       withDefault("ssh_password", "string", `"`+defaultSSHPassword+`"`),
	"ssh_private_key":    hclspec.NewAttr("ssh_private_key", "string", false),
	"ssh_port":           withDefault("ssh_port", "number", "22"),
	"image_pull_timeout": withDefault("image_pull_timeout", "string", `"`+defaultImagePullTimeout+`"`),
	"auto_prune":         withDefault("auto_prune", "bool", "true"),
	"slots_dir":          hclspec.NewAttr("slots_dir", "string", false),
	"warm":               warmConfigSpec(),
})

// taskConfigSpec is the schema of a task's config block. Options whose
// default depends on the plugin config (ssh_*, image_pull_timeout) have no
// spec default: an empty value means "use the plugin's".
var taskConfigSpec = hclspec.NewObject(map[string]*hclspec.Spec{
	"image":        hclspec.NewAttr("image", "string", true),
	"cpu":          hclspec.NewAttr("cpu", "number", false),
	"memory":       hclspec.NewAttr("memory", "number", false),
	"disk_size":    hclspec.NewAttr("disk_size", "number", false),
	"command":      hclspec.NewAttr("command", "string", false),
	"headless":     withDefault("headless", "bool", "true"),
	"suspendable":  withDefault("suspendable", "bool", "false"),
	"nested":       withDefault("nested", "bool", "false"),
	"ssh_user":     hclspec.NewAttr("ssh_user", "string", false),
	"ssh_password": hclspec.NewAttr("ssh_password", "string", false),
	"ssh_port":     hclspec.NewAttr("ssh_port", "number", false),
	"disk_mount": hclspec.NewBlockList("disk_mount", hclspec.NewObject(map[string]*hclspec.Spec{
		"path":    hclspec.NewAttr("path", "string", true),
		"options": hclspec.NewAttr("options", "string", false),
	})),
	"dir_share": hclspec.NewBlockList("dir_share", hclspec.NewObject(map[string]*hclspec.Spec{
		"name":    hclspec.NewAttr("name", "string", false),
		"path":    hclspec.NewAttr("path", "string", true),
		"options": hclspec.NewAttr("options", "string", false),
	})),
	"root_disk_options":  hclspec.NewAttr("root_disk_options", "string", false),
	"net_bridged":        hclspec.NewAttr("net_bridged", "string", false),
	"net_softnet":        withDefault("net_softnet", "bool", "false"),
	"net_softnet_allow":  hclspec.NewAttr("net_softnet_allow", "string", false),
	"net_softnet_expose": hclspec.NewAttr("net_softnet_expose", "string", false),
	"net_host":           withDefault("net_host", "bool", "false"),

	"args":               hclspec.NewAttr("args", "list(string)", false),
	"ssh_private_key":    hclspec.NewAttr("ssh_private_key", "string", false),
	"guest_transport":    withDefault("guest_transport", "string", `"auto"`),
	"pull_policy":        withDefault("pull_policy", "string", `"missing"`),
	"auth":               authSpec(),
	"image_pull_timeout": hclspec.NewAttr("image_pull_timeout", "string", false),
	"display":            hclspec.NewAttr("display", "string", false),
	"random_mac":         withDefault("random_mac", "bool", "true"),
	"ready_timeout":      withDefault("ready_timeout", "string", `"`+defaultReadyTimeout+`"`),
	"work_dir":           hclspec.NewAttr("work_dir", "string", false),
	"console_log":        withDefault("console_log", "bool", "true"),
	"warm_start":         withDefault("warm_start", "bool", "false"),
})

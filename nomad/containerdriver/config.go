package containerdriver

import (
	"github.com/hashicorp/nomad/plugins/shared/hclspec"
)

// Defaults shared by the schemas, the docs and the validation code. They
// live in the specs (hclspec.NewDefault) so that an operator can always set
// a bool back to false.
const (
	defaultImagePullTimeout = "5m"
	defaultGCGrace          = "2m"
	// minMemoryMB is Apple container's floor (0.10.0+): `minimum memory
	// amount allowed is 200 MiB`.
	minMemoryMB = 200
)

// PluginConfig is the `plugin "nomad-driver-container" { config { ... } }`
// block. The names are the earlier community driver's, so its users switch
// by replacing the binary. Every field is optional.
type PluginConfig struct {
	ContainerPath        string       `codec:"container_path"`
	GC                   GCConfig     `codec:"gc"`
	Volumes              VolumeConfig `codec:"volumes"`
	ExtraLabels          []string     `codec:"extra_labels"`
	ImagePullTimeout     string       `codec:"image_pull_timeout"`
	DisableLogCollection bool         `codec:"disable_log_collection"`
	Auth                 RegistryAuth `codec:"auth"`
	// GCGrace (ours): how long after start-up the orphan sweep waits for
	// Nomad to recover the tasks it still knows.
	GCGrace string `codec:"gc_grace"`
}

// GCConfig is the plugin's gc { container = bool } block.
type GCConfig struct {
	Container bool `codec:"container"`
}

// VolumeConfig is the plugin's volumes { enabled = bool } block.
type VolumeConfig struct {
	Enabled bool `codec:"enabled"`
}

// RegistryAuth is an auth { username password server_address } block.
type RegistryAuth struct {
	Username      string `codec:"username"`
	Password      string `codec:"password"`
	ServerAddress string `codec:"server_address"`
}

// TaskConfig is a task's `config { ... }` block: every key of the earlier
// community driver, same names and types.
type TaskConfig struct {
	Image            string       `codec:"image"`
	Command          string       `codec:"command"`
	Args             []string     `codec:"args"`
	Entrypoint       string       `codec:"entrypoint"`
	WorkingDir       string       `codec:"working_dir"`
	Env              stringMap    `codec:"env"`
	Volumes          []string     `codec:"volumes"`
	Tmpfs            []string     `codec:"tmpfs"`
	Ports            []string     `codec:"ports"`
	NetworkMode      string       `codec:"network_mode"`
	Hostname         string       `codec:"hostname"`
	User             string       `codec:"user"`
	Labels           stringMap    `codec:"labels"`
	CapAdd           []string     `codec:"cap_add"`
	CapDrop          []string     `codec:"cap_drop"`
	ReadonlyRootfs   bool         `codec:"readonly_rootfs"`
	Init             bool         `codec:"init"`
	TTY              bool         `codec:"tty"`
	DNS              []string     `codec:"dns"`
	DNSSearch        []string     `codec:"dns_search"`
	DNSOptions       []string     `codec:"dns_options"`
	Rosetta          bool         `codec:"rosetta"`
	ForcePull        bool         `codec:"force_pull"`
	ImagePullTimeout string       `codec:"image_pull_timeout"`
	SSHAgent         bool         `codec:"ssh_agent"`
	Virtualization   bool         `codec:"virtualization"`
	Auth             RegistryAuth `codec:"auth"`

	// Platform (ours, not the earlier driver's): the image variant to pull
	// and run, e.g. linux/amd64 with rosetta on Apple silicon.
	Platform string `codec:"platform"`
}

func authSpec() *hclspec.Spec {
	return hclspec.NewBlock("auth", false, hclspec.NewObject(map[string]*hclspec.Spec{
		"username":       hclspec.NewAttr("username", "string", false),
		"password":       hclspec.NewAttr("password", "string", false),
		"server_address": hclspec.NewAttr("server_address", "string", false),
	}))
}

func withDefault(name, typ, literal string) *hclspec.Spec {
	return hclspec.NewDefault(hclspec.NewAttr(name, typ, false), hclspec.NewLiteral(literal))
}

// pluginConfigSpec is the schema of the plugin block. gc.container and
// volumes.enabled default to true, as the earlier driver behaved (it
// ignored false); here false works.
var pluginConfigSpec = hclspec.NewObject(map[string]*hclspec.Spec{
	"container_path": hclspec.NewAttr("container_path", "string", false),
	"gc": hclspec.NewDefault(hclspec.NewBlock("gc", false, hclspec.NewObject(map[string]*hclspec.Spec{
		"container": withDefault("container", "bool", "true"),
	})), hclspec.NewLiteral("{ container = true }")),
	"volumes": hclspec.NewDefault(hclspec.NewBlock("volumes", false, hclspec.NewObject(map[string]*hclspec.Spec{
		"enabled": withDefault("enabled", "bool", "true"),
	})), hclspec.NewLiteral("{ enabled = true }")),
	"extra_labels":           hclspec.NewAttr("extra_labels", "list(string)", false),
	"image_pull_timeout":     withDefault("image_pull_timeout", "string", `"`+defaultImagePullTimeout+`"`),
	"disable_log_collection": withDefault("disable_log_collection", "bool", "false"),
	"auth":                   authSpec(),
	"gc_grace":               withDefault("gc_grace", "string", `"`+defaultGCGrace+`"`),
})

// taskConfigSpec is the schema of a task's config block. image_pull_timeout
// has no spec default: empty means the plugin's.
var taskConfigSpec = hclspec.NewObject(map[string]*hclspec.Spec{
	"image":              hclspec.NewAttr("image", "string", true),
	"command":            hclspec.NewAttr("command", "string", false),
	"args":               hclspec.NewAttr("args", "list(string)", false),
	"entrypoint":         hclspec.NewAttr("entrypoint", "string", false),
	"working_dir":        hclspec.NewAttr("working_dir", "string", false),
	"env":                hclspec.NewAttr("env", "list(map(string))", false),
	"volumes":            hclspec.NewAttr("volumes", "list(string)", false),
	"tmpfs":              hclspec.NewAttr("tmpfs", "list(string)", false),
	"ports":              hclspec.NewAttr("ports", "list(string)", false),
	"network_mode":       hclspec.NewAttr("network_mode", "string", false),
	"hostname":           hclspec.NewAttr("hostname", "string", false),
	"user":               hclspec.NewAttr("user", "string", false),
	"labels":             hclspec.NewAttr("labels", "list(map(string))", false),
	"cap_add":            hclspec.NewAttr("cap_add", "list(string)", false),
	"cap_drop":           hclspec.NewAttr("cap_drop", "list(string)", false),
	"readonly_rootfs":    withDefault("readonly_rootfs", "bool", "false"),
	"init":               withDefault("init", "bool", "false"),
	"tty":                withDefault("tty", "bool", "false"),
	"dns":                hclspec.NewAttr("dns", "list(string)", false),
	"dns_search":         hclspec.NewAttr("dns_search", "list(string)", false),
	"dns_options":        hclspec.NewAttr("dns_options", "list(string)", false),
	"rosetta":            withDefault("rosetta", "bool", "false"),
	"force_pull":         withDefault("force_pull", "bool", "false"),
	"image_pull_timeout": hclspec.NewAttr("image_pull_timeout", "string", false),
	"ssh_agent":          withDefault("ssh_agent", "bool", "false"),
	"virtualization":     withDefault("virtualization", "bool", "false"),
	"auth":               authSpec(),
	"platform":           hclspec.NewAttr("platform", "string", false),
})

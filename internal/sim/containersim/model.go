package containersim

import "time"

// ContainerConfig is ContainerConfiguration in the 1.x schema (§5.1). It is
// what the bundle's config.json holds and what list/inspect print.
type ContainerConfig struct {
	CapAdd           []string            `json:"capAdd"`
	CapDrop          []string            `json:"capDrop"`
	CreationDate     time.Time           `json:"creationDate"`
	DNS              *DNSConfig          `json:"dns,omitempty"`
	ID               string              `json:"id"`
	Image            ImageDescription    `json:"image"`
	InitProcess      ProcessConfig       `json:"initProcess"`
	Labels           map[string]string   `json:"labels"`
	Mounts           []Filesystem        `json:"mounts"`
	Networks         []NetworkAttachment `json:"networks"`
	Platform         Platform            `json:"platform"`
	PublishedPorts   []PublishPort       `json:"publishedPorts"`
	PublishedSockets []PublishSocket     `json:"publishedSockets"`
	ReadOnly         bool                `json:"readOnly"`
	Resources        Resources           `json:"resources"`
	Rosetta          bool                `json:"rosetta"`
	RuntimeHandler   string              `json:"runtimeHandler"`
	MaskedPaths      []string            `json:"maskedPaths,omitempty"`
	ReadonlyPaths    []string            `json:"readonlyPaths,omitempty"`
	ShmSize          *uint64             `json:"shmSize,omitempty"`
	SSH              bool                `json:"ssh"`
	StopSignal       string              `json:"stopSignal,omitempty"`
	Sysctls          map[string]string   `json:"sysctls"`
	UseInit          bool                `json:"useInit"`
	Virtualization   bool                `json:"virtualization"`
}

type DNSConfig struct {
	Domain        string   `json:"domain,omitempty"`
	Nameservers   []string `json:"nameservers"`
	Options       []string `json:"options"`
	SearchDomains []string `json:"searchDomains"`
}

type ImageDescription struct {
	Descriptor Descriptor `json:"descriptor"`
	Reference  string     `json:"reference"`
}

type Descriptor struct {
	Annotations map[string]string `json:"annotations,omitempty"`
	Digest      string            `json:"digest"`
	MediaType   string            `json:"mediaType"`
	Platform    *Platform         `json:"platform,omitempty"`
	Size        int64             `json:"size"`
}

type Platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant,omitempty"`
}

type ProcessConfig struct {
	Arguments          []string    `json:"arguments"`
	Environment        []string    `json:"environment"`
	Executable         string      `json:"executable"`
	Rlimits            []Rlimit    `json:"rlimits"`
	SupplementalGroups []uint32    `json:"supplementalGroups"`
	Terminal           bool        `json:"terminal"`
	User               ProcessUser `json:"user"`
	WorkingDirectory   string      `json:"workingDirectory"`
}

type Rlimit struct {
	Hard  uint64 `json:"hard"`
	Limit string `json:"limit"`
	Soft  uint64 `json:"soft"`
}

// ProcessUser is Swift's ProcessConfiguration.User enum: {"id":{uid,gid}} or
// {"raw":{"userString":"nginx"}}.
type ProcessUser struct {
	ID  *UserID  `json:"id,omitempty"`
	Raw *UserRaw `json:"raw,omitempty"`
}

type UserID struct {
	GID uint32 `json:"gid"`
	UID uint32 `json:"uid"`
}

type UserRaw struct {
	UserString string `json:"userString"`
}

// Filesystem is one mount; Type is the Swift enum as an object.
type Filesystem struct {
	Destination string         `json:"destination"`
	Options     []string       `json:"options"`
	Source      string         `json:"source"`
	Type        map[string]any `json:"type"`
}

type NetworkAttachment struct {
	Network string         `json:"network"`
	Options NetworkOptions `json:"options"`
}

type NetworkOptions struct {
	Hostname   string `json:"hostname"`
	MACAddress string `json:"macAddress,omitempty"`
	MTU        int    `json:"mtu"`
}

type PublishPort struct {
	ContainerPort int    `json:"containerPort"`
	Count         int    `json:"count"`
	HostAddress   string `json:"hostAddress"`
	HostPort      int    `json:"hostPort"`
	Proto         string `json:"proto"`
}

type PublishSocket struct {
	ContainerPath string `json:"containerPath"`
	HostPath      string `json:"hostPath"`
}

type Resources struct {
	CPUOverhead   int    `json:"cpuOverhead"`
	CPUs          int    `json:"cpus"`
	MemoryInBytes uint64 `json:"memoryInBytes"`
}

// simOptions is what the simulator keeps beside config.json (the real
// bundle's options.json holds autoRemove too).
type simOptions struct {
	AutoRemove  bool     `json:"autoRemove"`
	IPv4        string   `json:"ipv4,omitempty"` // "192.168.64.3/24"; empty with --network none
	Gateway     string   `json:"gateway,omitempty"`
	MTU         int      `json:"mtu,omitempty"`
	MACAddress  string   `json:"macAddress,omitempty"`
	Interactive bool     `json:"interactive"`
	Tmpfs       []string `json:"tmpfs,omitempty"`
	SSHAuthSock string   `json:"sshAuthSock,omitempty"`
	// ResolvedUser is the numeric uid/gid/groups the init process runs as.
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups,omitempty"`
	Rootfs string   `json:"rootfs"`
	// RootfsLower is the shared image tree of an overlay rootfs ("" = the
	// rootfs is a plain copy).
	RootfsLower string `json:"rootfsLower,omitempty"`
}

// runtimeStatus is written by the runtime process (state.json).
type runtimeStatus struct {
	State       string    `json:"state"` // booting, running, stopping, stopped
	StartedDate time.Time `json:"startedDate,omitzero"`
	RuntimePID  int       `json:"runtimePid,omitempty"`
	InitPID     int       `json:"initPid,omitempty"`
}

// States reported by the CLI (§6).
const (
	stateRunning  = "running"
	stateStopped  = "stopped"
	stateStopping = "stopping"
	stateUnknown  = "unknown"
	stateBooting  = "booting" // internal: reported as stopped
)

// sshSockInContainer is where --ssh binds the host's SSH agent socket.
const sshSockInContainer = "/run/host-services/ssh-auth.sock"

// Default network (vmnet's default NAT subnet).
const (
	defaultNetwork = "default"
	defaultSubnet  = "192.168.64.0/24"
	defaultGateway = "192.168.64.1"
	defaultMTU     = 1280
)

package applecontainer

import "time"

// Mount is one --mount.
type Mount struct {
	Type     string // "bind", "virtiofs", "tmpfs" or "volume"
	Source   string // absolute host directory (bind/virtiofs), volume name (volume), "" (tmpfs)
	Target   string // absolute path in the container
	ReadOnly bool
}

// Port is one --publish.
type Port struct {
	HostIP        string // "" = all addresses (the CLI's 0.0.0.0)
	HostPort      int
	ContainerPort int
	Proto         string // "tcp" (default when "") or "udp"
}

// RunOptions are the options of `container run` and `container create`.
// Zero values leave the CLI's defaults.
type RunOptions struct {
	Name, Image string
	// Args go after the image (command + arguments), verbatim: the CLI
	// stops parsing its own options at the image.
	Args                                                                   []string
	Entrypoint                                                             string
	Env                                                                    []string // "KEY=VALUE" or "KEY" (inherit from the CLI's environment)
	EnvFiles                                                               []string
	User                                                                   string
	UID, GID                                                               *uint32
	Workdir                                                                string
	CPUs                                                                   int      // 0 = default (container.cpus, 4)
	MemoryBytes                                                            int64    // 0 = default (1 GiB); < 200 MiB is rejected
	Volumes                                                                []string // raw -v specs: "/ctr" (anonymous), "name:/ctr[:opts]", "/host:/ctr[:ro]"; host paths absolute
	Mounts                                                                 []Mount
	Tmpfs                                                                  []string
	Publish                                                                []Port   // at most 64
	Networks                                                               []string // "default", "none" or a named network, optionally ",mac=..,mtu=.."; "host"/"task:x" rejected
	DNS, DNSSearch, DNSOptions                                             []string
	DNSDomain                                                              string
	NoDNS                                                                  bool
	Labels                                                                 map[string]string // keys and values must not contain "="
	CapAdd, CapDrop                                                        []string
	ReadOnly, Init, TTY, Interactive, Rosetta, SSH, Virtualization, Remove bool
	Platform, Arch, OS, Kernel, InitImage, ShmSize                         string
	Ulimits                                                                []string // "<type>=<soft>[:<hard>]"
	KernelArgs                                                             []string // --kernel-arg (1.2.0+)
	// ExtraFlags are raw CLI options placed before the image (a passthrough
	// for flags this struct lacks). Every flag must exist in Apple's CLI:
	// Docker-only options (--hostname, --restart, --privileged, ...) and
	// --detach are rejected with ErrInvalidInput.
	ExtraFlags []string
}

// PullOptions for Pull and PullWithCredentials.
type PullOptions struct {
	Platform string // "os/arch[/variant]"; "" = the CLI's default (Pull: every platform of an index; PullWithCredentials: linux/<host arch>)
	// Scheme for Pull: "" (CLI default), "http", "https" (and "auto" before 1.3.0).
	Scheme string
}

// StopOptions for Stop.
type StopOptions struct {
	Signal  string        // "" = CLI default (image STOPSIGNAL, else SIGTERM)
	Timeout time.Duration // 0 = CLI default (5 s); rounded up to whole seconds
}

// LogsOptions for LogsCommand.
type LogsOptions struct {
	Follow bool
	Tail   int // > 0: only the last Tail lines (-n)
	Boot   bool
}

// ExecOptions for ExecCommand and Exec.
type ExecOptions struct {
	Interactive, TTY bool
	Env              []string // "KEY=VALUE"
	User, Workdir    string
}

package containersim

// The command tree of container 1.2.2 as far as the simulator implements it
// (apple-container-cli.md §3). Options added after the simulated release are
// dropped by forVersion.

var (
	optFormat      = option{Long: "format", Value: "format", Enum: []string{"json", "table", "yaml", "toml"}, Help: "Format of the output"}
	optQuiet       = option{Long: "quiet", Short: 'q', Help: "Only output the ID"}
	optAll         = option{Long: "all", Short: 'a', Help: "All containers"}
	optSignal      = option{Long: "signal", Short: 's', Value: "signal", Help: "Signal to send"}
	optProgress    = option{Long: "progress", Value: "type", Enum: []string{"auto", "none", "ansi", "plain", "color"}, Help: "Progress type"}
	optScheme      = option{Long: "scheme", Value: "scheme", Enum: []string{"http", "https", "auto"}, Help: "Scheme to use when connecting to the registry"}
	optPlatform    = option{Long: "platform", Value: "platform", Help: "Platform (os/arch[/variant])"}
	optArch        = option{Long: "arch", Short: 'a', Value: "arch", Help: "Architecture"}
	optOS          = option{Long: "os", Value: "os", Help: "Operating system"}
	optMaxDownload = option{Long: "max-concurrent-downloads", Value: "max-concurrent-downloads", Int: true, Help: "Maximum concurrent downloads"}
)

// processOptions are shared by run, create and exec.
var processOptions = []option{
	{Long: "env", Short: 'e', Value: "env", Help: "Set environment variables (KEY=VALUE or KEY)"},
	{Long: "env-file", Value: "env-file", Help: "Read in a file of environment variables"},
	{Long: "gid", Value: "gid", Int: true, Help: "Set the group ID for the process"},
	{Long: "interactive", Short: 'i', Help: "Keep stdin open"},
	{Long: "tty", Short: 't', Help: "Open a TTY with the process"},
	{Long: "user", Short: 'u', Value: "user", Help: "Set the user for the process (name|uid[:gid])"},
	{Long: "uid", Value: "uid", Int: true, Help: "Set the user ID for the process"},
	{Long: "workdir", Short: 'w', Aliases: []string{"cwd"}, Value: "dir", Help: "Set the initial working directory"},
	{Long: "ulimit", Value: "ulimit", Help: "Resource limit <type>=<soft>[:<hard>]"},
}

func containerOptions(withProgress bool) []option {
	opts := append([]option{}, processOptions...)
	opts = append(opts,
		option{Long: "cpus", Short: 'c', Value: "cpus", Int: true, Help: "Number of CPUs to allocate"},
		option{Long: "memory", Short: 'm', Value: "memory", Help: "Amount of memory (1024K, 1M, 1G; bare number = bytes)"},
		optArch, optOS, optPlatform,
		option{Long: "name", Value: "name", Help: "Use the specified name as the container ID"},
		option{Long: "detach", Short: 'd', Help: "Run the container and detach from the process"},
		option{Long: "rm", Aliases: []string{"remove"}, Help: "Remove the container after it stops"},
		option{Long: "cidfile", Value: "cidfile", Help: "Write the container ID to the path provided"},
		option{Long: "entrypoint", Value: "cmd", Help: "Override the entrypoint of the image"},
		option{Long: "label", Short: 'l', Value: "label", Help: "Add a key=value label"},
		option{Long: "volume", Short: 'v', Value: "volume", Help: "Bind mount a volume (host:container[:ro])"},
		option{Long: "mount", Value: "mount", Help: "Add a mount (type=<>,source=<>,target=<>,readonly)"},
		option{Long: "tmpfs", Value: "tmpfs", Help: "Add a tmpfs mount"},
		option{Long: "publish", Short: 'p', Value: "spec", Help: "Publish a port ([host-ip:]host-port:container-port[/protocol])"},
		option{Long: "publish-socket", Value: "spec", Help: "Publish a socket (host_path:container_path)"},
		option{Long: "network", Value: "network", Help: "Attach the container to a network"},
		option{Long: "dns", Value: "ip", Help: "DNS nameserver IP address"},
		option{Long: "dns-domain", Value: "domain", Help: "Default DNS domain"},
		option{Long: "dns-option", Value: "option", Help: "DNS options"},
		option{Long: "dns-search", Value: "domain", Help: "DNS search domains"},
		option{Long: "no-dns", Help: "Do not configure DNS in the container"},
		option{Long: "rosetta", Help: "Enable Rosetta in the container"},
		option{Long: "ssh", Help: "Forward SSH agent socket to container"},
		option{Long: "virtualization", Help: "Expose virtualization capabilities to the container"},
		option{Long: "kernel", Short: 'k', Value: "kernel", Help: "Set a custom kernel path"},
		option{Long: "kernel-arg", Value: "arg", Help: "Kernel boot argument", Since: "1.2.0"},
		option{Long: "init", Help: "Run an init process that forwards signals and reaps processes"},
		option{Long: "init-image", Value: "image", Help: "Use a custom init image"},
		option{Long: "runtime", Value: "runtime", Help: "Set the runtime handler"},
		option{Long: "read-only", Help: "Mount the container's root filesystem as read-only"},
		option{Long: "cap-add", Value: "cap", Help: "Add a Linux capability"},
		option{Long: "cap-drop", Value: "cap", Help: "Drop a Linux capability"},
		option{Long: "shm-size", Value: "size", Help: "Size of /dev/shm", Since: "1.0.0"},
		option{Long: "read-only-path", Value: "path", Help: "Make a path read-only", Since: "1.2.1"},
		option{Long: "masked-path", Value: "path", Help: "Mask a path", Since: "1.2.1"},
		optScheme, optMaxDownload,
	)
	if withProgress {
		opts = append(opts, optProgress)
	}
	return opts
}

func rootCommand() *command {
	root := &command{Abstract: "A container platform for macOS (container-sim: a Linux simulator)"}
	root.Subs = []*command{
		{Name: "run", Abstract: "Run a container", Options: containerOptions(true), Passthrough: true, API: apiPing,
			Args: []positional{{Name: "image"}, {Name: "arguments", Optional: true, Variadic: true}}, Run: cmdRun},
		{Name: "create", Abstract: "Create a new container", Options: containerOptions(false), Passthrough: true, API: apiPing,
			Args: []positional{{Name: "image"}, {Name: "arguments", Optional: true, Variadic: true}}, Run: cmdCreate},
		{Name: "start", Abstract: "Start a container", API: apiList, Args: []positional{{Name: "container-id"}},
			Options: []option{{Long: "attach", Short: 'a', Help: "Attach STDOUT/STDERR"}, {Long: "interactive", Short: 'i', Help: "Attach STDIN"}}, Run: cmdStart},
		{Name: "stop", Abstract: "Stop one or more running containers", API: apiList,
			Options: []option{optAll, optSignal, {Long: "time", Short: 't', Value: "time", Int: true, Help: "Seconds to wait before killing the container(s)"}},
			Args:    []positional{{Name: "container-ids", Optional: true, Variadic: true}}, Run: cmdStop},
		{Name: "kill", Abstract: "Kill or signal one or more running containers", API: apiList,
			Options: []option{optAll, optSignal}, Args: []positional{{Name: "container-ids", Optional: true, Variadic: true}}, Run: cmdKill},
		{Name: "delete", Aliases: []string{"rm"}, Abstract: "Delete one or more containers", API: apiList,
			Options: []option{optAll, {Long: "force", Short: 'f', Help: "Delete containers even if they are running"}},
			Args:    []positional{{Name: "container-ids", Optional: true, Variadic: true}}, Run: cmdDelete},
		{Name: "list", Aliases: []string{"ls"}, Abstract: "List containers", API: apiList,
			Options: []option{{Long: "all", Short: 'a', Help: "Show stopped containers as well"}, optQuiet, optFormat}, Run: cmdList},
		{Name: "inspect", Abstract: "Display information about one or more containers", API: apiList,
			Args: []positional{{Name: "container-ids", Variadic: true}}, Run: cmdInspect},
		{Name: "logs", Abstract: "Fetch container logs", API: apiList,
			Options: []option{{Long: "boot", Help: "Display the boot log for the container instead of stdio"},
				{Long: "follow", Short: 'f', Help: "Follow log output"},
				{Long: "n", Short: 'n', Value: "n", Int: true, Help: "Number of lines to show from the end of the logs"}},
			Args: []positional{{Name: "container-id"}}, Run: cmdLogs},
		{Name: "exec", Abstract: "Run a new command in a running container", API: apiList, Passthrough: true,
			Options: append([]option{{Long: "detach", Short: 'd', Help: "Run the process and detach from it"}}, processOptions...),
			Args:    []positional{{Name: "container-id"}, {Name: "arguments", Optional: true, Variadic: true}}, Run: cmdExec},
		{Name: "stats", Abstract: "Display resource usage statistics for containers", API: apiList,
			Options: []option{optFormat, {Long: "no-stream", Help: "Disable streaming stats and only pull the first result"}},
			Args:    []positional{{Name: "containers", Optional: true, Variadic: true}}, Run: cmdStats},
		{Name: "prune", Abstract: "Remove all stopped containers", API: apiList, Run: cmdPrune},
		imageCommand(), registryCommand(), networkCommand(), volumeCommand(), systemCommand(), simCommand(),
	}
	link(root)
	return root
}

func link(c *command) {
	for _, s := range c.Subs {
		s.parent = c
		link(s)
	}
}

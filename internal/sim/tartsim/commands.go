package tartsim

// The command table: one row per tart subcommand, in Root.swift's order.
// Parsing, usage blocks and --help are all driven from here.

var (
	formatOpt = option{Long: "format", Since: "0.37.0", Value: "format", Enum: []string{"text", "json"}, Help: "Output format: text or json"}
	insecure  = option{Long: "insecure", Help: "connect to the OCI registry via insecure HTTP protocol"}
	concOpt   = option{Long: "concurrency", Since: "2.0.0", Value: "concurrency", Unsigned: true, Help: "network concurrency to use when pulling a remote VM from the OCI-compatible registry"}
	dedupOpt  = option{Long: "deduplicate", Hidden: true}
	nameArg   = positional{Name: "name"}
)

func commands() []*command {
	return []*command{
		{Name: "create", Abstract: "Create a VM", Usage: "<name> [--from-ipsw <path>] [--linux] [--disk-size <disk-size>] [--disk-format <disk-format>]",
			Options: []option{
				{Long: "from-ipsw", Value: "path"}, {Long: "linux"},
				{Long: "disk-size", Value: "disk-size", Unsigned: true},
				{Long: "disk-format", Since: "2.28.0", Value: "disk-format", Enum: []string{"raw", "asif"}},
			}, Args: []positional{nameArg}, Run: cmdCreate},
		{Name: "clone", Abstract: "Clone a VM", Usage: "<source-name> <new-name> [--insecure] [--concurrency <concurrency>] [--prune-limit <n>]",
			Options: []option{insecure, concOpt, {Long: "prune-limit", Since: "2.28.5", Value: "n", Unsigned: true}, dedupOpt},
			Args:    []positional{{Name: "source-name"}, {Name: "new-name"}}, Run: cmdClone},
		{Name: "run", Abstract: "Run a VM", Usage: "<name> [--no-graphics] [--serial] [--serial-path <serial-path>] [--no-audio] [--no-clipboard] [--recovery] [--vnc] [--vnc-experimental] [--disk <disk> ...] [--rosetta <tag>] [--dir <dir> ...] [--nested] [--net-bridged <interface name> ...] [--net-softnet] [--net-softnet-allow <comma-separated CIDRs>] [--net-softnet-block <comma-separated CIDRs>] [--net-softnet-expose <comma-separated port specifications>] [--net-host] [--root-disk-opts <options>] [--suspendable] [--capture-system-keys] [--no-trackpad] [--no-pointer] [--no-keyboard]",
			Options: runOptions, Args: []positional{nameArg}, Run: cmdRun},
		{Name: "set", Abstract: "Modify VM's configuration", Usage: "<name> [--cpu <cpu>] [--memory <memory>] [--display <display>] [--display-refit] [--no-display-refit] [--random-mac] [--random-serial] [--disk <disk>] [--disk-size <disk-size>]",
			Options: []option{
				{Long: "cpu", Value: "cpu", Unsigned: true}, {Long: "memory", Value: "memory", Unsigned: true},
				{Long: "display", Value: "display"}, {Long: "display-refit", Since: "2.21.0", Inverse: "no-display-refit"},
				{Long: "random-mac", Since: "2.11.0"}, {Long: "random-serial", Since: "2.11.0"}, {Long: "disk", Value: "disk"},
				{Long: "disk-size", Value: "disk-size", Unsigned: true},
			}, Args: []positional{nameArg}, Run: cmdSet},
		{Name: "get", Since: "0.34.0", Abstract: "Get a VM's configuration", Usage: "<name> [--format <format>]",
			Options: []option{formatOpt}, Args: []positional{nameArg}, Run: cmdGet},
		{Name: "list", Abstract: "List created VMs", Usage: "[--source <source>] [--format <format>] [--quiet]",
			Options: []option{{Long: "source", Since: "0.36.0", Value: "source"}, formatOpt, {Long: "quiet", Since: "0.33.0", Short: 'q'}}, Run: cmdList},
		{Name: "login", Abstract: "Login to a registry", Usage: "<host> [--username <username>] [--password-stdin] [--insecure] [--no-validate]",
			Options: []option{{Long: "username", Value: "username"}, {Long: "password-stdin"}, insecure, {Long: "no-validate"}},
			Args:    []positional{{Name: "host"}}, Run: cmdLogin},
		{Name: "logout", Since: "1.10.0", Abstract: "Logout from a registry", Usage: "<host>", Args: []positional{{Name: "host"}}, Run: func(*env, *parsed) error { return nil }},
		{Name: "ip", Abstract: "Get VM's IP address", Usage: "<name> [--wait <wait>] [--resolver <resolver>]",
			Options: []option{{Long: "wait", Value: "wait", Unsigned: true}, {Long: "resolver", Since: "1.1.0", Value: "resolver", Enum: []string{"dhcp", "arp", "agent"}, EnumSince: map[string]string{"agent": "2.28.0"}}},
			Args:    []positional{nameArg}, Run: cmdIP},
		{Name: "exec", Since: "2.27.0", Abstract: "Execute a command in a running VM", Usage: "[-i] [-t] <name> <command> ...",
			Options: []option{{Long: "interactive", Short: 'i'}, {Long: "tty", Short: 't'}},
			Args:    []positional{nameArg, {Name: "command", Variadic: true}}, Passthrough: true, Run: cmdExec},
		{Name: "pull", Abstract: "Pull a VM from a registry", Usage: "<remote-name> [--insecure] [--concurrency <concurrency>]",
			Options: []option{insecure, concOpt, dedupOpt}, Args: []positional{{Name: "remote-name"}}, Run: cmdPull},
		{Name: "push", Abstract: "Push a VM to a registry", Usage: "<local-name> <remote-names> ...",
			Options: []option{insecure, concOpt, {Long: "chunk-size", Value: "chunk-size"}, {Long: "label", Value: "label"}, {Long: "populate-cache"}},
			Args:    []positional{{Name: "local-name"}, {Name: "remote-names", Variadic: true}}, Run: notSimulated},
		{Name: "import", Since: "0.37.0", Abstract: "Import VM from a compressed .tvm file", Usage: "<path> <name>",
			Args: []positional{{Name: "path"}, nameArg}, Run: notSimulated},
		{Name: "export", Since: "0.37.0", Abstract: "Export VM to a compressed .tvm file", Usage: "<name> [<path>]",
			Args: []positional{nameArg, {Name: "path", Optional: true}}, Run: notSimulated},
		{Name: "prune", Since: "0.20.0", Abstract: "Prune OCI and IPSW caches or local VMs", Usage: "[--entries <entries>] [--older-than <n>] [--space-budget <n>]",
			Options: []option{{Long: "entries", Value: "entries"}, {Long: "older-than", Value: "n", Unsigned: true},
				{Long: "space-budget", Value: "n", Unsigned: true}, {Long: "cache-budget", Value: "n", Unsigned: true, Hidden: true}, {Long: "gc", Hidden: true}},
			Run: cmdPrune},
		{Name: "rename", Since: "0.28.0", Abstract: "Rename a local VM", Usage: "<name> <new-name>",
			Args: []positional{nameArg, {Name: "new-name"}}, Run: cmdRename},
		{Name: "stop", Since: "0.34.0", Abstract: "Stop a VM", Usage: "<name> [--timeout <timeout>]",
			Options: []option{{Long: "timeout", Short: 't', Value: "timeout", Unsigned: true}},
			Args:    []positional{nameArg}, Run: cmdStop},
		{Name: "delete", Abstract: "Delete a VM", Usage: "<name> ...",
			Args: []positional{{Name: "name", Variadic: true}}, Run: cmdDelete},
		{Name: "fqn", Since: "2.6.0", Hidden: true, Abstract: "Get a fully-qualified VM name", Usage: "<name>",
			Args: []positional{nameArg}, Run: cmdFQN},
		{Name: "suspend", Since: "1.8.0", Abstract: "Suspend a VM", Usage: "<name>", Args: []positional{nameArg}, Run: cmdSuspend},
		{Name: "sim", Hidden: true, Abstract: "tart-sim test hooks: sim fault <vm> drop-ssh|die|kill-agent|crash", Usage: "fault <name> <fault>",
			Args: []positional{{Name: "action"}, nameArg, {Name: "fault"}}, Run: cmdSim},
	}
}

var commandTable = commands()

func lookupCommand(name string) *command {
	for _, c := range commandTable {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func notSimulated(_ *env, p *parsed) error {
	return failf("tart-sim: %q is not simulated", p.cmd.Name)
}

package applecontainer

import "strings"

// knownRunFlags are the options of `container run`/`create` at 1.2.x
// (apple-container-cli.md §4.1), short and long forms.
var knownRunFlags = map[string]bool{
	"-e": true, "--env": true, "--env-file": true, "--gid": true, "--uid": true, "-u": true, "--user": true,
	"-i": true, "--interactive": true, "-t": true, "--tty": true, "-w": true, "--workdir": true, "--cwd": true,
	"--ulimit": true, "-c": true, "--cpus": true, "-m": true, "--memory": true, "-a": true, "--arch": true,
	"--os": true, "--platform": true, "--name": true, "--rm": true, "--remove": true, "--cidfile": true,
	"--entrypoint": true, "-l": true, "--label": true, "-v": true, "--volume": true, "--mount": true,
	"--tmpfs": true, "-p": true, "--publish": true, "--publish-socket": true, "--network": true,
	"--dns": true, "--dns-domain": true, "--dns-option": true, "--dns-search": true, "--no-dns": true,
	"--rosetta": true, "--ssh": true, "--virtualization": true, "-k": true, "--kernel": true,
	"--kernel-arg": true, "--init": true, "--init-image": true, "--runtime": true, "--read-only": true,
	"--cap-add": true, "--cap-drop": true, "--shm-size": true, "--read-only-path": true, "--masked-path": true,
	"--scheme": true, "--max-concurrent-downloads": true, "--debug": true,
}

// dockerOnlyFlags are Docker options the container CLI does not have (it
// would exit 64 with "Unknown option"), with what to do instead.
var dockerOnlyFlags = map[string]string{
	"--hostname":        "the container's hostname is its name (RunOptions.Name)",
	"-h":                "the container's hostname is its name (RunOptions.Name)",
	"--restart":         "there is no restart policy; let the scheduler restart the task",
	"--pull":            "images are fetched only when missing; pull explicitly first",
	"--stop-signal":     "give the signal to Stop (StopOptions.Signal) or set STOPSIGNAL in the image",
	"--stop-timeout":    "give the timeout to Stop (StopOptions.Timeout)",
	"--log-driver":      "logs always go to the container's stdio.log",
	"--log-opt":         "logs always go to the container's stdio.log",
	"--privileged":      "use CapAdd for the capabilities you need",
	"--device":          "devices cannot be passed to the container VM",
	"--add-host":        "write /etc/hosts entries from the container command instead",
	"-P":                "publish each port explicitly (Publish)",
	"--publish-all":     "publish each port explicitly (Publish)",
	"--expose":          "publish each port explicitly (Publish)",
	"--sysctl":          "sysctls cannot be set from the CLI",
	"--security-opt":    "use CapAdd/CapDrop/ReadOnly",
	"--memory-swap":     "set MemoryBytes; the VM has no swap option",
	"--cpu-shares":      "set CPUs",
	"--gpus":            "GPUs are not available in the container VM",
	"--pid":             "each container is its own VM; namespaces cannot be shared",
	"--ipc":             "each container is its own VM; namespaces cannot be shared",
	"--attach":          "-a means --arch in the container CLI; attached is the default of Run",
	"-d":                "this client runs containers attached to get their exit code",
	"--detach":          "this client runs containers attached to get their exit code",
	"--progress":        "this client always sets --progress none",
	"--health-cmd":      "health checks are the scheduler's job",
	"--health-interval": "health checks are the scheduler's job",
}

// shortAliases map the CLI's other spellings to the table's flag.
var shortAliases = map[string]string{
	"-e": "--env", "-u": "--user", "-i": "--interactive", "-t": "--tty", "-w": "--workdir", "--cwd": "--workdir",
	"-c": "--cpus", "-m": "--memory", "-a": "--arch", "--remove": "--rm", "-l": "--label", "-v": "--volume",
	"-p": "--publish", "-k": "--kernel",
}

// extraOnly are the run flags RunOptions has no field for, with the
// release that added them (they are only reachable through ExtraFlags).
var extraOnly = map[string]Version{
	"--cidfile":                  mustVersion("0.1.0"),
	"--debug":                    mustVersion("0.1.0"),
	"--scheme":                   mustVersion("0.1.0"),
	"--publish-socket":           mustVersion("0.2.0"),
	"--max-concurrent-downloads": mustVersion("0.7.1"),
	"--runtime":                  mustVersion("0.10.0"),
	"--read-only-path":           mustVersion("1.2.1"),
	"--masked-path":              mustVersion("1.2.1"),
}

// checkExtraFlags validates RunOptions.ExtraFlags for CLI version v (zero =
// newest): every word starting with '-' must be a run flag of Apple's CLI
// that RunOptions has no field for (fields are validated and gated; a
// passthrough would skip that). Values are the words in between.
func checkExtraFlags(words []string, v Version) ([]string, error) {
	fieldOf := map[string]string{}
	for _, f := range runFlags {
		fieldOf[f.flag] = f.field
	}
	for _, w := range words {
		if !strings.HasPrefix(w, "-") || w == "-" {
			continue
		}
		name, _, _ := strings.Cut(w, "=")
		if hint, bad := dockerOnlyFlags[name]; bad {
			return nil, inputf("ExtraFlags", "%s is not an option of Apple's container CLI: %s", name, hint)
		}
		if strings.HasPrefix(name, "--health-") {
			return nil, inputf("ExtraFlags", "%s is not an option of Apple's container CLI: health checks are the scheduler's job", name)
		}
		long := name
		if a, ok := shortAliases[name]; ok {
			long = a
		}
		if field, ok := fieldOf[long]; ok {
			return nil, inputf("ExtraFlags", "%s has its own field: set RunOptions.%s instead (it is validated and version-checked there)", name, field)
		}
		since, ok := extraOnly[name]
		if !ok {
			return nil, inputf("ExtraFlags", "%s is not an option of Apple's container CLI run/create", name)
		}
		if !v.IsZero() && !v.AtLeast(since) {
			return nil, &UnsupportedError{Feature: Feature("run " + name), Have: v, Need: since}
		}
	}
	return words, nil
}

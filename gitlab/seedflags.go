package gitlab

import (
	"os"
	"strings"
)

// The Python gitlab-runner-tart-driver's CLI (seed 004): its users switch
// to this executor by changing only *_exec in config.toml, so every flag of
// every stage is accepted with its meaning, rewritten to the Tartan
// setting that has it, and reported with one notice line naming that
// setting. None of them is an error.

// seedFlag is one flag of the Python driver.
type seedFlag struct {
	names    []string
	hasValue bool
	// rewrite returns the Tartan flags for the value (for a flag without
	// value, val is ""), the ones that go before every other flag (so an
	// explicit --cpu beats --auto-resources whatever the order), and the
	// notice for the job log.
	rewrite func(stage, val string) (flags, front []string, notice string)
}

var seedFlags = []seedFlag{
	{names: []string{"-x", "--tart-executable"}, hasValue: true, rewrite: func(_, v string) ([]string, []string, string) {
		if fi, err := os.Stat(v); err == nil && !fi.IsDir() {
			return []string{"--tart-binary", v}, nil, "is tart_binary"
		}
		return nil, nil, "names no file on this host: ignored; tart is looked up as tart_binary, then PATH, /opt/homebrew/bin/tart, /usr/local/bin/tart"
	}},
	{names: []string{"--auto-resources"}, rewrite: func(_, _ string) ([]string, []string, string) {
		return nil, []string{"--cpu", "auto", "--memory", "auto"}, `is cpu = "auto" and memory = "auto" (host split by concurrency; --cpu/--memory win)`
	}},
	{names: []string{"--no-auto-resources"}, rewrite: func(_, _ string) ([]string, []string, string) {
		return nil, []string{"--cpu=", "--memory="}, `is cpu = "" and memory = "" (the image's own values; --cpu/--memory win)`
	}},
	{names: []string{"--cache-dir"}, hasValue: true, rewrite: func(_, v string) ([]string, []string, string) {
		return []string{"--host-cache-dir", v}, nil, "is host_cache_dir (shared into the guest at guest_cache_dir)"
	}},
	{names: []string{"--builds-dir"}, hasValue: true, rewrite: func(_, v string) ([]string, []string, string) {
		return []string{"--host-builds-dir", v}, nil, "is host_builds_dir (shared into the guest at guest_builds_dir; concurrent jobs get separate subdirectories)"
	}},
	{names: []string{"--volume"}, hasValue: true, rewrite: func(_, v string) ([]string, []string, string) {
		return []string{"--volumes", v}, nil, "is an entry of volumes"
	}},
	{names: []string{"--timeout"}, hasValue: true, rewrite: func(stage, v string) ([]string, []string, string) {
		switch stage {
		case "prepare":
			return []string{"--ready-timeout", v}, nil, "is ready_timeout (bound on reaching SSH or the guest agent)"
		case "run":
			return []string{"--connect-timeout", v}, nil, "is connect_timeout (bound on reconnecting to the guest in each run stage)"
		}
		return nil, nil, "has no meaning in the " + stage + " stage: ignored"
	}},
	{names: []string{"--install-gitlab-runner"}, rewrite: func(_, _ string) ([]string, []string, string) {
		return []string{"--guest-runner", "install"}, nil, `is guest_runner = "install" (from the host cache guest_runner_cache, not downloaded per job)`
	}},
	{names: []string{"--force-install-gitlab-runner"}, rewrite: func(_, _ string) ([]string, []string, string) {
		return []string{"--guest-runner", "install", "--guest-runner-force"}, nil, `is guest_runner = "install" with guest_runner_force = true`
	}},
	{names: []string{"--gitlab-runner-version"}, hasValue: true, rewrite: func(_, v string) ([]string, []string, string) {
		if v == "latest" || v == "" {
			return []string{"--guest-runner-version="}, nil, `is guest_runner_version = "" (the host runner's own version, so they always match)`
		}
		return []string{"--guest-runner-version", v}, nil, "is guest_runner_version"
	}},
	{names: []string{"--exclude-image-expr"}, hasValue: true, rewrite: func(_, v string) ([]string, []string, string) {
		return []string{"--denied-images", v}, nil, "is an entry of denied_images (Python re syntax, matched like re.search)"
	}},
	{names: []string{"--default-ssh-user"}, hasValue: true, rewrite: func(_, v string) ([]string, []string, string) {
		return []string{"--ssh-user", v}, nil, "is ssh_user (give it to prepare too: prepare connects first)"
	}},
	{names: []string{"--default-ssh-password"}, hasValue: true, rewrite: func(_, v string) ([]string, []string, string) {
		return []string{"--ssh-password", v}, nil, "is ssh_password (give it to prepare too: prepare connects first)"
	}},
}

// seedNotice is one notice line about a Python driver flag.
type seedNotice struct {
	Flag string // as given, value masked for secrets
	Text string
}

func (n seedNotice) String() string {
	return "Flag " + n.Flag + " of gitlab-runner-tart-driver " + n.Text
}

// translateSeedFlags rewrites the Python driver's flags in args (a stage's
// flags, before its positional arguments) into Tartan flags. Tartan's own
// flags pass through untouched, with their values.
func translateSeedFlags(stage string, args []string) (out []string, notices []seedNotice) {
	valued := tartanValueFlags()
	var front, rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			rest = append(rest, args[i:]...)
			break
		}
		name, val, inline := splitSeedFlag(a)
		f, ok := findSeedFlag(name)
		if !ok {
			rest = append(rest, a)
			// A Tartan flag's value may start with '-': never read it as a flag.
			if tn := strings.TrimLeft(a, "-"); valued[tn] && !strings.Contains(tn, "=") && i+1 < len(args) {
				rest = append(rest, args[i+1])
				i++
			}
			continue
		}
		if f.hasValue && !inline {
			if i+1 >= len(args) {
				notices = append(notices, seedNotice{Flag: a, Text: "needs a value: ignored"})
				continue
			}
			i++
			val = args[i]
		}
		shown := strings.TrimSpace(name + " " + val)
		if name == "--default-ssh-password" {
			shown = name + " [MASKED]"
		}
		flags, fr, text := f.rewrite(stage, val)
		rest = append(rest, flags...)
		front = append(front, fr...)
		notices = append(notices, seedNotice{Flag: shown, Text: text})
	}
	return append(front, rest...), notices
}

// splitSeedFlag splits "--name=value" and "--name value" (one argument
// with a space, as the seed README writes --volume in config.toml).
func splitSeedFlag(a string) (name, val string, inline bool) {
	if strings.HasPrefix(a, "-x") && len(a) > 2 && a[2] != '=' {
		return "-x", a[2:], true // click's attached short form, -x/path
	}
	if n, v, ok := strings.Cut(a, "="); ok && !strings.Contains(n, " ") {
		return n, v, true
	}
	if n, v, ok := strings.Cut(a, " "); ok {
		return n, strings.TrimSpace(v), true
	}
	return a, "", false
}

func findSeedFlag(name string) (seedFlag, bool) {
	for _, f := range seedFlags {
		for _, n := range f.names {
			if n == name {
				return f, true
			}
		}
	}
	return seedFlag{}, false
}

// tartanValueFlags lists Tartan's flags that take a value (all but the
// booleans), by name without dashes.
func tartanValueFlags() map[string]bool {
	out := map[string]bool{"config": true}
	for _, f := range DefaultSettings().fields() {
		if _, isBool := f.Ptr.(*bool); !isBool {
			out[strings.ReplaceAll(f.Key, "_", "-")] = true
		}
	}
	return out
}

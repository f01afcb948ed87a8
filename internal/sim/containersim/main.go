// Package containersim simulates Apple's `container` CLI 1.2.2 on Linux
// (apple-container-cli.md is the spec): same arguments, outputs, exit codes
// and JSON shapes, with containers that really run under runc. Each running
// container is owned by a per-container runtime process (a re-exec of the
// simulator, the analogue of Apple's per-container launchd service).
package containersim

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// DefaultVersion is the CLI release simulated unless CONTAINER_SIM_VERSION is set.
const DefaultVersion = "1.2.2"

// simCommit is the commit the simulator reports in version strings.
const simCommit = "3c4c59c"

// env is the world of one invocation.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	root   string // app root
	ver    version
	self   string // path of this executable, for runtime re-execs

	attachedBundle string    // bundle of the container an attached CLI follows
	started        time.Time // process start, for trace
}

// version is the simulated release; pre-1.0 releases use the 0.x JSON profile.
type version struct {
	Major, Minor, Patch int
	Raw                 string
}

func (v version) pre1() bool { return v.Major == 0 }

func (v version) atLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

func (v version) atLeastV(o version) bool {
	if v.Major != o.Major {
		return v.Major > o.Major
	}
	if v.Minor != o.Minor {
		return v.Minor > o.Minor
	}
	return v.Patch >= o.Patch
}

func parseVersion(s string) (version, bool) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return version{}, false
	}
	var n [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 {
			return version{}, false
		}
		n[i] = x
	}
	return version{n[0], n[1], n[2], s}, true
}

func (e *env) loadVersion() {
	raw := e.getenv("CONTAINER_SIM_VERSION")
	if raw == "" {
		raw = DefaultVersion
		if p := e.getenv("CONTAINER_SIM_PROFILE"); p != "" && strings.HasPrefix(p, "0.") {
			raw = "0.12.3"
		}
	}
	v, ok := parseVersion(raw)
	if !ok {
		fmt.Fprintf(e.stderr, "container-sim: ignoring CONTAINER_SIM_VERSION=%q: not a release like 1.2.2\n", raw)
		v, _ = parseVersion(DefaultVersion)
	}
	e.ver = v
}

func (e *env) knobDuration(name string) time.Duration {
	v := e.getenv(name)
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		fmt.Fprintf(e.stderr, "container-sim: ignoring %s=%q: not a Go duration (e.g. 500ms, 2s)\n", name, v)
		return 0
	}
	return d
}

func (e *env) knobSet(name string) bool { return e.getenv(name) != "" }

// trace prints a timing line on stderr when CONTAINER_SIM_TRACE is set
// (for benchmarks: where a run's time goes).
func (e *env) trace(what string) {
	if e.knobSet("CONTAINER_SIM_TRACE") {
		fmt.Fprintf(e.stderr, "container-sim trace: %7.1fms %s\n", float64(time.Since(e.started).Microseconds())/1000, what)
	}
}

// DefaultAppRoot is the state directory when CONTAINER_APP_ROOT is unset.
const DefaultAppRoot = "/var/lib/container-sim"

// Main runs one container command line (os.Args[1:]) and returns the exit code.
func Main(args []string) int {
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, self: self, started: time.Now()}
	return e.main(args)
}

func (e *env) main(args []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(e.stderr, "container-sim: internal error (a simulator bug, please report it): %v\n%s", r, debug.Stack())
			code = exitFailure
		}
	}()
	e.loadVersion()
	e.root = e.getenv("CONTAINER_APP_ROOT")
	if e.root == "" {
		e.root = DefaultAppRoot
	}
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprint(e.stdout, rootCommand().helpText())
		return exitOK
	}
	if args[0] == "--version" || args[0] == "-v" {
		fmt.Fprintln(e.stdout, e.versionLine("container CLI"))
		return exitOK
	}
	root := rootCommand()
	cmd := root.sub(args[0])
	if cmd == nil || (cmd.Hidden && cmd.Name != "sim") {
		return e.report(rootUsageErr(fmt.Sprintf("Plugin 'container-%s' not found.", args[0])))
	}
	rest := args[1:]
	for len(cmd.Subs) > 0 && len(rest) > 0 {
		s := cmd.sub(rest[0])
		if s == nil {
			break
		}
		cmd, rest = s, rest[1:]
	}
	if cmd.Run == nil {
		if len(rest) == 0 || rest[0] == "--help" || rest[0] == "-h" {
			fmt.Fprint(e.stdout, cmd.helpText())
			return exitOK
		}
		return e.report(cmd.usageErr(fmt.Sprintf("Unexpected argument '%s'", rest[0])))
	}
	cmd = cmd.forVersion(e.ver)
	p, err := cmd.parse(rest)
	if err != nil {
		return e.report(err)
	}
	if p.help {
		fmt.Fprint(e.stdout, cmd.helpText())
		return exitOK
	}
	if err := e.checkAPIServer(cmd.API); err != nil {
		return e.report(err)
	}
	return e.report(cmd.Run(e, p))
}

func rootUsageErr(msg string) error { return &usageError{msg: msg} }

// versionLine is "<app> version 1.2.2 (build: release, commit: 3c4c59c)".
func (e *env) versionLine(app string) string {
	return fmt.Sprintf("%s version %s (build: release, commit: %s)", app, e.ver.Raw, simCommit)
}

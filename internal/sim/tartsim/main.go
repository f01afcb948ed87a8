// Package tartsim simulates the tart CLI on Linux (tart-cli.md is the spec):
// same arguments, outputs, exit codes, TART_HOME layout and locks, with VMs
// that are local processes (see internal/sim/guestsim) and 127.x.y.z IPs.
package tartsim

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"
)

// DefaultVersion is what `tart --version` prints unless TART_SIM_VERSION is set.
const DefaultVersion = "2.32.1"

// env is the world of one tart-sim invocation.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	lookup func(string) (string, bool)
	home   *home
}

func (e *env) knobDuration(name string, def time.Duration) time.Duration {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		fmt.Fprintf(e.stderr, "tart-sim: ignoring %s=%q: not a Go duration (e.g. 500ms, 2s)\n", name, v)
		return def
	}
	return d
}

func (e *env) knobSet(name string) bool { return e.getenv(name) != "" }

// Main runs one tart command line (os.Args[1:]) and returns the exit code.
func Main(args []string) int {
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, lookup: os.LookupEnv}
	return e.main(args)
}

func (e *env) main(args []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(e.stderr, "tart-sim: internal error (a simulator bug, please report it): %v\n%s", r, debug.Stack())
			code = exitFailure
		}
	}()
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprint(e.stdout, rootHelp())
		return exitOK
	}
	if args[0] == "--version" {
		v := e.getenv("TART_SIM_VERSION")
		if v == "" {
			v = DefaultVersion
		}
		fmt.Fprintln(e.stdout, v)
		return exitOK
	}
	cmd := lookupCommand(args[0])
	if cmd != nil {
		cmd = cmd.forVersion(e.version())
	}
	if cmd == nil {
		return e.report(rootUsageErr(fmt.Sprintf("Unexpected argument '%s'", args[0])))
	}
	p, err := cmd.parse(args[1:])
	if err != nil {
		return e.report(err)
	}
	if p.help {
		fmt.Fprint(e.stdout, cmd.helpText())
		return exitOK
	}
	h, err := openHome(e)
	if err != nil {
		return e.report(err)
	}
	e.home = h
	if cmd.Name != "pull" && cmd.Name != "clone" && cmd.Name != "sim" {
		h.gcTmp(e)
	}
	return e.report(cmd.Run(e, p))
}

func rootHelp() string {
	s := "OVERVIEW: tart-sim: a Linux simulator of the tart CLI\n\nUSAGE: tart <subcommand>\n\nOPTIONS:\n  --version               Show the version.\n  -h, --help              Show help information.\n\nSUBCOMMANDS:\n"
	for _, c := range commands() {
		if !c.Hidden {
			s += fmt.Sprintf("  %-24s%s\n", c.Name, c.Abstract)
		}
	}
	return s + "\n  See 'tart help <subcommand>' for detailed help.\n"
}

package harness

import (
	"fmt"
	"sort"
	"strings"
)

// bashScript shapes a sub-stage script the way gitlab-runner's bash shell
// writer does: shebang, `trap exit 1 TERM`, errexit and pipefail, then the
// body through `eval` in a pipeline (so it runs in a subshell with stdin
// from an empty pipe), then `exit 0`.
func bashScript(vars []variable, body []string) string {
	var inner strings.Builder
	for _, v := range vars {
		fmt.Fprintf(&inner, "export %s=%s\n", v.Key, singleQuote(v.Value))
	}
	for _, line := range body {
		inner.WriteString(line)
		inner.WriteByte('\n')
	}
	var b strings.Builder
	b.WriteString("#!/usr/bin/env bash\n\n")
	b.WriteString("trap exit 1 TERM\n\n")
	b.WriteString("if set -o | grep pipefail > /dev/null; then set -o pipefail; fi; set -o errexit\n")
	b.WriteString("set +o noclobber\n")
	b.WriteString(": | eval " + ansiCQuote(inner.String()) + "\n")
	b.WriteString("exit 0\n")
	return b.String()
}

// shScript is the POSIX sh variant (shell = "sh"): no $'...' quoting.
func shScript(vars []variable, body []string) string {
	var inner strings.Builder
	for _, v := range vars {
		fmt.Fprintf(&inner, "export %s=%s\n", v.Key, singleQuote(v.Value))
	}
	for _, line := range body {
		inner.WriteString(line)
		inner.WriteByte('\n')
	}
	return "#!/usr/bin/env sh\n\ntrap 'exit 1' TERM\n\nset -e\n: | eval " + singleQuote(inner.String()) + "\nexit 0\n"
}

// echoCommand is what the runner prints before each user command.
func echoCommand(cmd string) string {
	return "echo " + ansiCQuote("\x1b[32;1m$ "+cmd+"\x1b[0;m")
}

// userCommands turns a job's script lines into shell lines: echo, then run.
func userCommands(lines []string) []string {
	out := make([]string, 0, 2*len(lines))
	for _, l := range lines {
		out = append(out, echoCommand(l), l)
	}
	return out
}

// ansiCQuote quotes s as $'...' (bash ANSI-C quoting), as the runner does.
func ansiCQuote(s string) string {
	var b strings.Builder
	b.WriteString("$'")
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		case 0x1b:
			b.WriteString(`\x1b`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString("'")
	return b.String()
}

func singleQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// variable is one job variable.
type variable struct {
	Key, Value string
	Masked     bool
}

func sortedVars(m map[string]string) []variable {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]variable, 0, len(keys))
	for _, k := range keys {
		out = append(out, variable{Key: k, Value: m[k]})
	}
	return out
}

package guest

import (
	"crypto/rand"
	"encoding/hex"
	"path"
	"regexp"
	"slices"
	"strings"
)

// DefaultGuestTempDir is where per-command private directories live unless
// configured otherwise. /tmp exists on macOS (-> /private/tmp) and Linux guests.
const DefaultGuestTempDir = "/tmp"

// plan is how one Command is carried out in the guest, independent of the
// transport. Every shell text in it means the same to zsh, bash and sh.
type plan struct {
	dir     string // private guest directory (mode 700) for pid, wrapper, script
	wrapper []byte // content of dir/run to upload first; nil = nothing to upload
	upload  string // command line that stores stdin as dir/run ("" without wrapper)
	line    string // command line that runs the command (exec keeps the PID)
	cleanup string // command line that removes dir
	// oneShot: line itself stores the wrapper (sent on its stdin), runs
	// it and removes dir, so the command takes one round trip instead of
	// three; cleanup is then only needed when line could not finish.
	oneShot bool
}

func (p plan) pidFile() string { return p.dir + "/pid" }

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// newPlanDir returns a fresh, unguessable guest directory name under root
// ("" = DefaultGuestTempDir).
func newPlanDir(root string) string {
	if root == "" {
		root = DefaultGuestTempDir
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return strings.TrimSuffix(root, "/") + "/tartan-" + hex.EncodeToString(b[:])
}

// buildPlan validates cmd and describes how to run it under dir.
func buildPlan(cmd Command, dir string) (plan, error) {
	if err := validate(cmd); err != nil {
		return plan{}, err
	}
	p := plan{dir: dir, cleanup: "rm -rf " + quote(dir)}
	mkdir := "mkdir -m 700 -p " + quote(dir)
	recordPID := "echo $$ > " + quote(p.pidFile())
	target := targetArgv(cmd, dir)
	if cmd.Script == "" && len(cmd.Env) == 0 {
		// Nothing secret or large: one line does it all.
		parts := []string{mkdir, recordPID}
		if cmd.Dir != "" {
			parts = append(parts, "cd "+quote(cmd.Dir))
		}
		parts = append(parts, "exec "+quoteArgv(target))
		p.line = strings.Join(parts, " && ")
		return p, nil
	}
	p.wrapper = wrapperScript(cmd, dir, target)
	p.upload = mkdir + " && umask 077 && cat > " + quote(dir+"/run")
	p.line = recordPID + " && exec /bin/sh " + quote(dir+"/run")
	if cmd.Stdin == nil && cmd.PTY == nil {
		p.oneShot, p.line = true, oneShotLine(dir)
	}
	return p, nil
}

// survivedSignals are those a one-shot line's shell outlives, to clean up.
var survivedSignals = []string{"TERM", "INT", "HUP", "QUIT", "USR1", "USR2"}

// oneShotLine stores its stdin as dir/run (in a 700 dir), runs it in the
// foreground, and removes dir once it ended, exiting with its status (and
// dying of its signal). The command's own stdin is empty (cat read it all),
// as for any command without Stdin. The PID file names the line's shell,
// leader of the process group: forwarded signals (kill(1) of that group)
// reach the command once; the shell's traps, which run only after its
// foreground command ended (and are reset to the default in it), keep the
// shell alive to clean up. A background job would be no good: it starts
// with SIGINT and SIGQUIT ignored, beyond the reach of its own traps. SIGKILL
// of the group ends both; the transport then removes dir itself.
func oneShotLine(dir string) string {
	d, run := quote(dir), quote(dir+"/run")
	sigs := strings.Join(survivedSignals, " ")
	return "{ mkdir -m 700 -p " + d + " && cat > " + run + "; } || { echo \"guest: cannot store the command in \"" + d + " >&2; exit 126; }; " +
		"echo $$ > " + quote(dir+"/pid") + "; trap : " + sigs + "; /bin/sh " + run + "; r=$?; " +
		"rm -rf " + d + "; trap - " + sigs + "; " +
		"if [ $r -gt 128 ] && [ $r -lt 160 ]; then kill -$((r-128)) $$; fi; exit $r"
}

func validate(cmd Command) error {
	if cmd.Script == "" && len(cmd.Argv) == 0 {
		return invalid("command has neither Argv nor Script: set one of them")
	}
	if cmd.Script != "" && len(cmd.Argv) > 0 {
		return invalid("command has both Argv and Script: set only one")
	}
	if len(cmd.Argv) > 0 && cmd.Argv[0] == "" {
		return invalid("Argv[0] is empty: give the program to run")
	}
	if cmd.LoginShell != "" && cmd.Script == "" {
		return invalid("LoginShell needs a Script: it only sets up the environment the script's Shell runs in")
	}
	for _, s := range append(slices.Clone(cmd.Argv), cmd.Shell, cmd.LoginShell, cmd.Dir) {
		if strings.ContainsRune(s, 0) {
			return invalid("argument %q contains a NUL byte", s)
		}
	}
	for k, v := range cmd.Env {
		if !envName.MatchString(k) {
			return invalid("environment variable name %q is not a shell name ([A-Za-z_][A-Za-z0-9_]*)", k)
		}
		if strings.ContainsRune(v, 0) {
			return invalid("value of environment variable %s contains a NUL byte", k)
		}
	}
	if p := cmd.PTY; p != nil && (p.Cols <= 0 || p.Rows <= 0) {
		return invalid("PTY size %dx%d: Cols and Rows must be positive", p.Cols, p.Rows)
	}
	return nil
}

// targetArgv is what finally runs: the argv, or the shell on the uploaded script.
func targetArgv(cmd Command, dir string) []string {
	if cmd.Script == "" {
		return cmd.Argv
	}
	shell := cmd.Shell
	if shell == "" {
		shell = DefaultShell
	}
	if cmd.LoginShell != "" {
		// bash, zsh and sh all take -l and set $@ from the words after
		// the -c text's $0.
		return []string{cmd.LoginShell, "-l", "-c", `exec "$@"`, cmd.LoginShell, shell, dir + "/script"}
	}
	return []string{shell, dir + "/script"}
}

// wrapperScript is a POSIX sh file: it writes the script (if any), exports
// the environment, changes directory and execs the target.
func wrapperScript(cmd Command, dir string, target []string) []byte {
	var b strings.Builder
	b.WriteString("# generated by tartan: runs one command\n")
	if cmd.Script != "" {
		delim := "TARTAN_EOF_" + strings.ReplaceAll(path.Base(dir), "-", "_")
		for strings.Contains(cmd.Script, delim) {
			delim += "_"
		}
		b.WriteString("cat > " + quote(dir+"/script") + " <<'" + delim + "' || exit 126\n")
		b.WriteString(cmd.Script)
		if !strings.HasSuffix(cmd.Script, "\n") {
			b.WriteByte('\n')
		}
		b.WriteString(delim + "\n")
	}
	keys := make([]string, 0, len(cmd.Env))
	for k := range cmd.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteString("export " + k + "=" + quote(cmd.Env[k]) + "\n")
	}
	if cmd.Dir != "" {
		b.WriteString("cd " + quote(cmd.Dir) + " || exit 1\n")
	}
	b.WriteString("exec " + quoteArgv(target) + "\n")
	return []byte(b.String())
}

// quote single-quotes s for sh, bash and zsh alike.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func quoteArgv(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = quote(a)
	}
	return strings.Join(q, " ")
}

// viaLoginShell is what an SSH exec request carries: sshd hands it to the
// user's login shell (zsh on macOS, bash, sh...), which only has to
// understand one exec of /bin/sh with a single-quoted argument; every
// line of a plan is then parsed by /bin/sh alone.
func viaLoginShell(line string) string { return "exec /bin/sh -c " + quote(line) }

// killLine sends sig (a name such as "TERM") to the process group recorded
// in pidFile, or to the process alone when it leads no group. No "--"
// before the group: dash's kill takes it for a PID and fails.
func killLine(pidFile, sig string) string {
	return "p=$(cat " + quote(pidFile) + " 2>/dev/null) && [ -n \"$p\" ] && " +
		"{ kill -" + sig + " -$p 2>/dev/null || kill -" + sig + " $p; }"
}

package applecontainer

import (
	"net/url"
	"strconv"
	"strings"
)

const redacted = "REDACTED"

// valueFlags are the flags whose next argv word may carry a secret value.
var envFlags = map[string]bool{"-e": true, "--env": true}

// RedactArgs returns a copy of argv safe to log and to put in errors: the
// value of every -e/--env KEY=VALUE (environment often carries secrets),
// URL passwords, and the container command's arguments after the image of
// run/create or the ID of exec (which may carry anything).
func RedactArgs(args []string) []string {
	out := make([]string, 0, len(args))
	verb := ""
	if len(args) > 0 {
		verb = args[0]
	}
	positional := verb == "run" || verb == "create" || verb == "exec"
	for i := 0; i < len(args); i++ {
		a := args[i]
		if envFlags[a] && i+1 < len(args) {
			out = append(out, a, redactEnv(args[i+1]))
			i++
			continue
		}
		if k, v, ok := strings.Cut(a, "="); ok && (k == "--env") {
			out = append(out, k+"="+redactEnv(v))
			continue
		}
		if positional && i > 0 && !strings.HasPrefix(a, "-") && !takesValue(args[i-1]) {
			// The image (run/create) or container ID (exec): keep it and the
			// program name, count the rest.
			out = append(out, redactURL(a))
			if i+1 < len(args) {
				out = append(out, redactURL(args[i+1]))
			}
			if n := len(args) - i - 2; n > 0 {
				out = append(out, "<"+strconv.Itoa(n)+" args redacted>")
			}
			return out
		}
		out = append(out, redactURL(a))
	}
	return out
}

// takesValue reports whether flag consumes the next argv word (run, create
// and exec options that are not switches).
func takesValue(flag string) bool {
	if strings.Contains(flag, "=") || !strings.HasPrefix(flag, "-") {
		return false
	}
	return !switchFlags[flag]
}

// switchFlags are the boolean options of run/create/exec.
var switchFlags = map[string]bool{
	"-d": true, "--detach": true, "-i": true, "--interactive": true, "-t": true, "--tty": true,
	"--rm": true, "--remove": true, "--no-dns": true, "--read-only": true, "--init": true,
	"--rosetta": true, "--ssh": true, "--virtualization": true, "--debug": true,
	"--disable-progress-updates": true,
}

// redactEnv keeps the name of KEY=VALUE and hides the value.
func redactEnv(kv string) string {
	if k, _, ok := strings.Cut(kv, "="); ok {
		return k + "=" + redacted
	}
	return kv
}

func redactURL(a string) string {
	if !strings.Contains(a, "://") || !strings.Contains(a, "@") {
		return a
	}
	u, err := url.Parse(a)
	if err != nil || u.User == nil {
		i, j := strings.Index(a, "://"), strings.LastIndex(a, "@")
		if i >= 0 && j > i {
			return a[:i+3] + redacted + a[j:]
		}
		return a
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), redacted)
	}
	return u.String()
}

package tart

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

const redacted = "REDACTED"

var secretKeyRe = regexp.MustCompile(`(?i)(pass|secret|token|key|auth|cred)`)

// RedactArgs returns a copy of tart argv safe to log: URL passwords
// (http(s)://user:pw@, nbd://), KEY=VALUE words whose key looks secret, and
// the guest command of `tart exec` (which may carry anything) are replaced.
func RedactArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if i == 0 && a == "exec" {
			return append(out, redactExec(args)...)
		}
		out = append(out, redactWord(a))
	}
	return out
}

// redactExec keeps `exec [-i] [-t] <vm> <cmd>` and hides the command's
// arguments.
func redactExec(args []string) []string {
	out := []string{"exec"}
	i := 1
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		out = append(out, args[i])
	}
	if i < len(args) { // VM name
		out = append(out, args[i])
		i++
	}
	if i < len(args) { // guest program
		out = append(out, redactWord(args[i]))
		i++
	}
	if n := len(args) - i; n > 0 {
		out = append(out, "<"+strconv.Itoa(n)+" args redacted>")
	}
	return out
}

func redactWord(a string) string {
	if strings.Contains(a, "://") {
		return redactURLs(a)
	}
	// KEY=VALUE and --key=value words whose key names a secret.
	if k, _, ok := strings.Cut(a, "="); ok && secretKeyRe.MatchString(k) {
		return k + "=" + redacted
	}
	return a
}

// redactURLs hides userinfo passwords in any URL inside a (a --dir or
// --disk spec may carry "name:URL:opts").
var urlRe = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s,]+`)

func redactURLs(a string) string {
	return urlRe.ReplaceAllStringFunc(a, func(s string) string {
		u, err := url.Parse(s)
		if err != nil || u.User == nil {
			// Unparseable: still hide anything that looks like user:pw@.
			if at := strings.Index(s, "@"); at >= 0 {
				scheme := s[:strings.Index(s, "://")+3]
				return scheme + redacted + s[at:]
			}
			return s
		}
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), redacted)
		}
		return u.String()
	})
}

package tart

import (
	"regexp"
	"strings"
)

// Remote (OCI) names: host[:port]/namespace[:tag|@sha256:hex]
// (tart-cli.md §2). ASCII only; no "..".
var (
	remoteHostRe   = `[A-Za-z0-9]+(?:[.-][A-Za-z0-9]+)*(?::[0-9]{1,5})?`
	remoteComponRe = `[A-Za-z0-9]+(?:(?:[._]|__|-+)[A-Za-z0-9]+)*`
	remoteNameRe   = regexp.MustCompile(`^` + remoteHostRe + `/` + remoteComponRe + `(?:/` + remoteComponRe + `)*` +
		`(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127}|@sha256:[a-f0-9]{64})?$`)
)

// IsRemoteName reports whether s is an OCI image name tart would pull
// (e.g. "ghcr.io/cirruslabs/macos-tahoe-base:latest"). "debian:latest" is not:
// tart treats it as a local name.
func IsRemoteName(s string) bool {
	return !strings.Contains(s, "..") && remoteNameRe.MatchString(s)
}

// validateVMName checks a name given as a positional argument: it must be
// non-empty, must not look like an option (tart would parse it as one) and
// must be printable.
func validateVMName(what, name string) error {
	switch {
	case name == "":
		return usagef("%s is empty; pass a VM name", what)
	case strings.HasPrefix(name, "-"):
		return usagef("%s %q starts with '-' and would be read as an option; VM names cannot start with '-'", what, name)
	case strings.ContainsAny(name, "\x00\n\r\t"):
		return usagef("%s %q contains control characters", what, name)
	}
	return nil
}

// validateLocalName checks the name of a VM that is created locally
// (clone target): tart requires it to have no '/'.
func validateLocalName(what, name string) error {
	if err := validateVMName(what, name); err != nil {
		return err
	}
	if strings.Contains(name, "/") {
		return usagef("%s %q should be a local name (no '/'); remote names are only valid as sources", what, name)
	}
	return nil
}

// validateRemoteName checks an image reference for pull.
func validateRemoteName(what, name string) error {
	if err := validateVMName(what, name); err != nil {
		return err
	}
	if !IsRemoteName(name) {
		return usagef("%s %q is not a valid remote image name; use host[:port]/namespace[:tag] or @sha256:<digest>, e.g. ghcr.io/cirruslabs/macos-tahoe-base:latest", what, name)
	}
	return nil
}

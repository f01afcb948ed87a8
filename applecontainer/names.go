package applecontainer

import (
	"regexp"
	"strings"
)

// containerIDRe: ManagedContainer.nameValid (apple-container-cli.md §4).
var containerIDRe = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// maxIDLen is the CLI's container ID length limit (it is also the hostname).
const maxIDLen = 63

// ValidName returns nil when id is a valid container ID/name, else an
// ErrInvalidInput error that says what is allowed.
func ValidName(id string) error {
	switch {
	case id == "":
		return inputf("Name", "container name is empty")
	case len(id) > maxIDLen:
		return inputf("Name", "container name %q is %d characters; the limit is %d", id, len(id), maxIDLen)
	case !containerIDRe.MatchString(id):
		return inputf("Name", "container name %q is invalid; use at least 2 characters from [a-zA-Z0-9_.-] starting with a letter or digit", id)
	}
	return nil
}

// DefaultRegistry is the CLI's default registry.domain.
const DefaultRegistry = "docker.io"

// NormalizeReference applies the CLI's reference rules (§9): a first path
// component containing "." or ":" or starting with "localhost" is a
// registry, else docker.io is prepended; docker.io single-component paths
// get "library/"; a missing tag becomes ":latest" (not when a digest is
// given). "alpine" -> "docker.io/library/alpine:latest".
func NormalizeReference(ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return ref
	}
	domain, rest := DefaultRegistry, ref
	if first, after, ok := strings.Cut(ref, "/"); ok && (strings.ContainsAny(first, ".:") || strings.HasPrefix(first, "localhost")) {
		domain, rest = first, after
	}
	if (domain == "docker.io" || domain == "registry-1.docker.io" || domain == "index.docker.io") && !strings.Contains(rest, "/") {
		rest = "library/" + rest
	}
	if domain == "index.docker.io" {
		domain = "docker.io"
	}
	name := rest
	if i := strings.IndexByte(name, '@'); i >= 0 {
		name = name[:i]
	}
	if !strings.Contains(name, ":") && !strings.Contains(rest, "@") {
		rest += ":latest"
	}
	return domain + "/" + rest
}

var signalRe = regexp.MustCompile(`^(?i:(?:SIG)?(?:[A-Z]+[0-9]*|RTMIN(?:\+[0-9]+)?|RTMAX(?:-[0-9]+)?))$`)

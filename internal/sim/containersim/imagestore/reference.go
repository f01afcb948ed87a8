package imagestore

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// DefaultRegistry is the registry of references without a registry part.
const DefaultRegistry = "docker.io"

// NormalizeReference turns a user reference into the stored form, following
// Apple's container (ClientImage.normalizeReference): the first path
// component is a registry if it contains '.' or ':' or starts with
// "localhost"; otherwise docker.io is prefixed. On docker.io (and
// registry-1.docker.io) a single-component path gets "library/". A missing
// tag becomes ":latest" unless a digest is given; digests are kept.
//
//	alpine            -> docker.io/library/alpine:latest
//	user/app          -> docker.io/user/app:latest
//	ghcr.io/o/i       -> ghcr.io/o/i:latest
//	localhost:5000/x  -> localhost:5000/x:latest
//	alpine@sha256:... -> docker.io/library/alpine@sha256:...
func NormalizeReference(ref string) (string, error) {
	if ref == "" || strings.TrimSpace(ref) != ref {
		return "", fmt.Errorf("%w: %q", ErrInvalidReference, ref)
	}
	rest, digest, hasDigest := strings.Cut(ref, "@")
	registry, path := "", rest
	if first, after, ok := strings.Cut(rest, "/"); ok &&
		(strings.ContainsAny(first, ".:") || strings.HasPrefix(first, "localhost")) {
		registry, path = first, after
	}
	if registry == "" {
		registry = DefaultRegistry
	}
	tag := ""
	if i := strings.LastIndex(path, ":"); i >= 0 {
		path, tag = path[:i], path[i+1:]
		if tag == "" {
			return "", fmt.Errorf("%w: %q has an empty tag", ErrInvalidReference, ref)
		}
	}
	if path == "" || slices.Contains(strings.Split(path, "/"), "") {
		return "", fmt.Errorf("%w: %q has an empty path component", ErrInvalidReference, ref)
	}
	if (registry == "docker.io" || registry == "registry-1.docker.io") && !strings.Contains(path, "/") {
		path = "library/" + path
	}
	out := registry + "/" + path
	if tag != "" {
		out += ":" + tag
	} else if !hasDigest {
		out += ":latest"
	}
	if hasDigest {
		out += "@" + digest
	}
	if _, err := name.ParseReference(out, name.StrictValidation); err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrInvalidReference, ref, err)
	}
	return out, nil
}

// DisplayName splits a normalized reference into the table form of
// `image list` (name without docker.io/library/, tag), e.g.
// docker.io/library/alpine:3.20 -> ("alpine", "3.20").
func DisplayName(normalized string) (repo, tag string) {
	rest, digest, hasDigest := strings.Cut(normalized, "@")
	repo = rest
	if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		repo, tag = rest[:i], rest[i+1:]
	}
	if tag == "" && hasDigest {
		tag = digest
	}
	repo = strings.TrimPrefix(repo, "docker.io/library/")
	repo = strings.TrimPrefix(repo, "docker.io/")
	return repo, tag
}

// parseRemote parses a normalized reference for go-containerregistry,
// marking plain-HTTP registries the way `--scheme auto` does.
func parseRemote(normalized string, insecure bool) (name.Reference, error) {
	opts := []name.Option{name.StrictValidation}
	if insecure || autoInsecure(normalized) {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(normalized, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrInvalidReference, normalized, err)
	}
	return r, nil
}

package imagestore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// PullOptions tune Pull.
type PullOptions struct {
	// Platform "os/arch[/variant]" fetches only that variant of an index;
	// "" fetches every platform (as `container image pull` without
	// --platform does; `run` passes the host platform).
	Platform string
	// Auth for the registry; nil = anonymous.
	Auth authn.Authenticator
	// Insecure forces plain HTTP. Without it, loopback, RFC1918 and
	// localhost registries use HTTP anyway (`--scheme auto`).
	Insecure bool
	// Progress receives plain progress lines (see progress.go); nil = quiet.
	Progress func(line string)
}

// Pull fetches ref from its registry into the store and names it with the
// normalized reference. Nothing is named until every blob is stored and
// verified, so a failed pull leaves no image behind (and its blobs are
// garbage-collected when no other process is using the store).
func (s *Store) Pull(ctx context.Context, ref string, o PullOptions) (Image, error) {
	norm, err := NormalizeReference(ref)
	if err != nil {
		return Image{}, err
	}
	var want *Platform
	if o.Platform != "" {
		p, err := ParsePlatform(o.Platform)
		if err != nil {
			return Image{}, fmt.Errorf("pull option Platform: %w", err)
		}
		want = &p
	}
	img, err := s.pull(ctx, norm, want, o)
	if err != nil {
		if _, gcErr := s.GC(); gcErr != nil && !errors.Is(gcErr, errBusy) {
			err = errors.Join(err, gcErr)
		}
		return Image{}, err
	}
	return img, nil
}

func (s *Store) pull(ctx context.Context, norm string, want *Platform, o PullOptions) (Image, error) {
	release, err := s.useContent()
	if err != nil {
		return Image{}, err
	}
	defer release()
	r, err := parseRemote(norm, o.Insecure)
	if err != nil {
		return Image{}, err
	}
	// A private transport per pull: its idle connections close with it
	// instead of lingering in a process-wide pool.
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	auth := o.Auth
	if auth == nil {
		auth = authn.Anonymous
	}
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuth(auth),
		remote.WithTransport(tr),
		remote.WithRetryBackoff(remote.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 3}),
	}
	desc, err := remote.Get(r, opts...)
	if err != nil {
		return Image{}, remoteError(norm, err)
	}
	var obj any
	if desc.MediaType.IsIndex() {
		obj, err = desc.ImageIndex()
	} else {
		obj, err = desc.Image()
	}
	if err != nil {
		return Image{}, remoteError(norm, err)
	}
	p := newProgress(o.Progress, "[1/2] Fetching image")
	jobs, t, err := s.plan(obj, want)
	if err != nil {
		return Image{}, remoteError(norm, err)
	}
	p.plan(jobs)
	if err := s.copyBlobs(ctx, jobs, p); err != nil {
		return Image{}, remoteError(norm, err)
	}
	p.finish()
	// Unpack (the real CLI does after fetching) the variants a container on
	// this host would run, so the first `run` only copies the cached rootfs.
	host := HostPlatform()
	for _, pi := range t.images {
		if !host.matches(pi.platform) {
			continue
		}
		p.line("[2/2] Unpacking image for platform " + pi.platform.String())
		if _, err := s.rootfsCache(pi.digest.String()); err != nil {
			return Image{}, fmt.Errorf("unpack %s (%s): %w", norm, pi.platform, err)
		}
	}
	if err := s.setRef(norm, t); err != nil {
		return Image{}, err
	}
	return s.Get(norm)
}

// remoteError classifies registry failures, keeping the registry's words.
func remoteError(ref string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		switch {
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden ||
			hasCode(te, transport.UnauthorizedErrorCode, transport.DeniedErrorCode):
			return fmt.Errorf("%w: pull %s: %w", ErrUnauthorized, ref, err)
		case hasCode(te, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode) ||
			(te.StatusCode == http.StatusNotFound && te.Request != nil && strings.Contains(te.Request.URL.Path, "/manifests/")):
			return fmt.Errorf("%w: pull %s: %w", ErrManifestUnknown, ref, err)
		}
	}
	return fmt.Errorf("pull %s: %w", ref, err)
}

func hasCode(te *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range te.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

// autoInsecure reports whether `--scheme auto` would use HTTP for the
// registry of a normalized reference: localhost, loopback or RFC1918 hosts.
func autoInsecure(normalized string) bool {
	reg, _, _ := strings.Cut(normalized, "/")
	host := reg
	if h, _, err := net.SplitHostPort(reg); err == nil {
		host = h
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsPrivate())
}

package ociimages

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// RegistryOptions configure StartRegistry.
type RegistryOptions struct {
	// Users maps user names to passwords for basic auth.
	Users map[string]string
	// Private lists repository prefixes ("private", "team/secret") whose
	// pulls need a valid user; every other repository is public.
	Private []string
	// FailAfterBlobs > 0 breaks the registry midway: once that many blob
	// downloads completed, every further blob download sends its headers and
	// half its body, then drops the connection.
	FailAfterBlobs int
	// Delay is added before every manifest and blob download (pulls only);
	// it ends early when the client goes away.
	Delay time.Duration
}

// Registry is an in-process OCI distribution registry on 127.0.0.1 (HTTP).
type Registry struct {
	// Host is "127.0.0.1:<port>", the registry part of references.
	Host string

	opts      RegistryOptions
	inner     http.Handler
	srv       *http.Server
	served    chan struct{}
	adminUser string
	adminPass string

	mu          sync.Mutex
	closed      bool
	inflight    sync.WaitGroup
	counts      map[string]RequestCounts
	blobsServed int
}

// RequestCounts are the pull requests (GET/HEAD) a repository received.
type RequestCounts struct {
	Manifests int
	Blobs     int
}

// StartRegistry serves a fresh, empty registry until Close.
func StartRegistry(o RegistryOptions) (*Registry, error) {
	for _, p := range o.Private {
		if p == "" {
			return nil, errors.New("ociimages: RegistryOptions.Private has an empty prefix (it would make every repository private; list the prefixes instead)")
		}
	}
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("ociimages: registry listen: %w", err)
	}
	r := &Registry{
		Host:      ln.Addr().String(),
		opts:      o,
		inner:     registry.New(registry.Logger(log.New(io.Discard, "", 0))),
		served:    make(chan struct{}),
		adminUser: "tartan-admin-" + hex.EncodeToString(secret[:4]),
		adminPass: hex.EncodeToString(secret[4:]),
		counts:    map[string]RequestCounts{},
	}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(r.served)
		_ = r.srv.Serve(ln)
	}()
	return r, nil
}

// Ref is Host + "/" + repoTag, e.g. Ref("app:1") = "127.0.0.1:PORT/app:1".
func (r *Registry) Ref(repoTag string) string { return r.Host + "/" + repoTag }

// Push uploads img as repoTag ("repo:tag" or "repo@sha256:...", without the host).
func (r *Registry) Push(repoTag string, img v1.Image) error {
	return r.push(repoTag, func(ref name.Reference, opts ...remote.Option) error { return remote.Write(ref, img, opts...) })
}

// PushIndex uploads a multi-platform index and its images as repoTag.
func (r *Registry) PushIndex(repoTag string, idx v1.ImageIndex) error {
	return r.push(repoTag, func(ref name.Reference, opts ...remote.Option) error { return remote.WriteIndex(ref, idx, opts...) })
}

func (r *Registry) push(repoTag string, write func(name.Reference, ...remote.Option) error) error {
	ref, err := name.ParseReference(r.Ref(repoTag), name.Insecure)
	if err != nil {
		return fmt.Errorf("ociimages: push %q: %w", repoTag, err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	auth := &authn.Basic{Username: r.adminUser, Password: r.adminPass}
	if err := write(ref, remote.WithAuth(auth), remote.WithTransport(tr)); err != nil {
		return fmt.Errorf("ociimages: push %s: %w", ref, err)
	}
	return nil
}

// Requests returns the pull requests repo (e.g. "private/app") received.
func (r *Registry) Requests(repo string) RequestCounts {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[repo]
}

// Close stops the server, drops open connections and waits for every
// handler to return.
func (r *Registry) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	err := r.srv.Close()
	<-r.served
	r.inflight.Wait()
	return err
}

func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		http.Error(w, "registry closed", http.StatusServiceUnavailable)
		return
	}
	r.inflight.Add(1)
	r.mu.Unlock()
	defer r.inflight.Done()

	user, pass, hasAuth := req.BasicAuth()
	admin := hasAuth && user == r.adminUser && pass == r.adminPass
	valid := admin || (hasAuth && r.opts.Users[user] == pass && r.hasUser(user))
	repo, kind := splitRegistryPath(req.URL.Path)

	switch {
	case repo == "" && strings.TrimSuffix(req.URL.Path, "/") == "/v2":
		// Ask for credentials on the ping when some repository is private,
		// as htpasswd-protected registries do: clients then send them.
		if (len(r.opts.Private) > 0 || len(r.opts.Users) > 0) && !valid {
			unauthorized(w, hasAuth)
			return
		}
	case repo != "" && r.private(repo) && !valid:
		unauthorized(w, hasAuth)
		return
	}
	pull := !admin && (req.Method == http.MethodGet || req.Method == http.MethodHead) &&
		(kind == "manifests" || (kind == "blobs" && !strings.Contains(req.URL.Path, "/blobs/uploads")))
	if !pull {
		r.inner.ServeHTTP(w, req)
		return
	}
	r.mu.Lock()
	c := r.counts[repo]
	if kind == "manifests" {
		c.Manifests++
	} else {
		c.Blobs++
	}
	r.counts[repo] = c
	fail := false
	if kind == "blobs" && req.Method == http.MethodGet && r.opts.FailAfterBlobs > 0 {
		fail = r.blobsServed >= r.opts.FailAfterBlobs
		if !fail {
			r.blobsServed++
		}
	}
	r.mu.Unlock()
	if r.opts.Delay > 0 {
		if !sleepCtx(req.Context(), r.opts.Delay) {
			return
		}
	}
	if !fail {
		r.inner.ServeHTTP(w, req)
		return
	}
	tw := &truncatingWriter{ResponseWriter: w, limit: -1}
	r.inner.ServeHTTP(tw, req)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	// Drop the connection so the client sees a short body, not a clean end.
	panic(http.ErrAbortHandler)
}

func (r *Registry) hasUser(u string) bool {
	_, ok := r.opts.Users[u]
	return ok
}

func (r *Registry) private(repo string) bool {
	for _, p := range r.opts.Private {
		if strings.HasPrefix(repo, p) {
			return true
		}
	}
	return false
}

func unauthorized(w http.ResponseWriter, hadCredentials bool) {
	msg := "authentication required"
	if hadCredentials {
		msg = "invalid username or password"
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="tartan-sim-registry"`)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	fmt.Fprintf(w, `{"errors":[{"code":"UNAUTHORIZED","message":%q}]}`, msg)
}

// splitRegistryPath splits /v2/<repo>/<kind>/<rest> (repo may contain "/").
func splitRegistryPath(p string) (repo, kind string) {
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return "", ""
	}
	for _, k := range []string{"/manifests/", "/blobs/", "/tags/", "/referrers/"} {
		if i := strings.LastIndex(rest, k); i > 0 {
			return rest[:i], strings.Trim(k, "/")
		}
	}
	return "", ""
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// truncatingWriter passes headers through and only half of the body.
type truncatingWriter struct {
	http.ResponseWriter
	limit   int64
	written int64
}

func (t *truncatingWriter) Write(b []byte) (int, error) {
	if t.limit < 0 {
		n, _ := strconv.ParseInt(t.Header().Get("Content-Length"), 10, 64)
		t.limit = n / 2
	}
	room := t.limit - t.written
	if room <= 0 {
		return 0, errors.New("ociimages: registry fault: body truncated")
	}
	if int64(len(b)) > room {
		b = b[:room]
	}
	n, err := t.ResponseWriter.Write(b)
	t.written += int64(n)
	if err == nil && t.written >= t.limit {
		err = errors.New("ociimages: registry fault: body truncated")
	}
	return n, err
}

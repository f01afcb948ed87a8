package applecontainer

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Credentials for one registry, used for one pull only. They never reach
// the macOS keychain, the environment, argv or logs.
type Credentials struct {
	Username, Password string
	// ServerAddress, when set, must name the registry of the reference
	// (docker.io, index.docker.io and registry-1.docker.io are one).
	ServerAddress string
}

// Annotations written into index.json of the archive (the full normalized
// reference under each: which one Apple's `image load` reads is unverified).
const (
	AnnotationRefName        = "org.opencontainers.image.ref.name"
	AnnotationContainerdName = "io.containerd.image.name"
)

// FetchArchive downloads ref for one platform ("os/arch[/variant]"; ""
// = "linux/"+runtime.GOARCH) from its registry with creds (nil = anonymous;
// never the host's keychain or docker config, never the environment) and
// writes it as an OCI image-layout tar (oci-layout, index.json with the
// reference annotated, blobs/sha256/...) to destPath (created 0600,
// replaced if present). Registries on loopback, RFC1918 addresses or
// localhost are reached over plain HTTP (the CLI's --scheme auto); insecure
// allows plain HTTP for any registry.
//
// Errors: the registry refusing the credentials (401/403) is ErrAuth, a
// missing repository/tag/platform ErrImageNotFound, bad input
// ErrInvalidInput. The password never appears in an error.
func FetchArchive(ctx context.Context, ref string, creds *Credentials, platform, destPath string, insecure bool) (err error) {
	if destPath == "" {
		return inputf("destPath", "no destination path given")
	}
	r, plat, auth, err := fetchInputs(ref, creds, platform, insecure)
	if err != nil {
		return err
	}
	defer func() { err = scrubSecret(err, creds) }()
	img, err := remote.Image(r, remote.WithContext(ctx), remote.WithAuth(auth), remote.WithPlatform(plat),
		remote.WithTransport(fetchTransport()))
	if err != nil {
		return registryError(r, plat, creds, err)
	}
	f, err := os.OpenFile(destPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return &Error{Kind: ErrFailed, Args: []string{"fetch", r.String()}, ExitCode: -1, Cause: err}
	}
	werr := writeLayout(f, img, NormalizeReference(ref), plat)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(destPath)
		var e *Error
		if errors.As(werr, &e) {
			return werr
		}
		return registryError(r, plat, creds, werr)
	}
	return nil
}

// fetchTransport is a private transport: no shared connection state with
// the process's default client, bounded dials and TLS handshakes.
func fetchTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 30 * time.Second
	t.ResponseHeaderTimeout = 60 * time.Second
	return t
}

func fetchInputs(ref string, creds *Credentials, platform string, insecure bool) (name.Reference, v1.Platform, authn.Authenticator, error) {
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, v1.Platform{}, nil, inputf("ref", "%q is not an image reference: %v", ref, err)
	}
	if platform == "" {
		platform = "linux/" + runtime.GOARCH
	}
	if perr := checkPlatform(RunOptions{Platform: platform}); perr != nil {
		return nil, v1.Platform{}, nil, inputf("platform", "%q is not os/arch[/variant] (e.g. linux/arm64)", platform)
	}
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		return nil, v1.Platform{}, nil, inputf("platform", "%q: %v", platform, err)
	}
	auth := authn.Anonymous
	if creds != nil {
		if creds.ServerAddress != "" && registryKey(creds.ServerAddress) != registryKey(r.Context().RegistryStr()) {
			return nil, v1.Platform{}, nil, inputf("Credentials.ServerAddress", "%q does not match the registry %q of %q; credentials are only sent to their own registry", creds.ServerAddress, r.Context().RegistryStr(), ref)
		}
		if creds.Username != "" || creds.Password != "" {
			auth = &authn.Basic{Username: creds.Username, Password: creds.Password}
		}
	}
	return r, *p, auth, nil
}

// registryKey normalizes a registry host for comparison.
func registryKey(s string) string {
	s = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://"), "/")
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	switch s = strings.ToLower(s); s {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return "docker.io"
	}
	return s
}

// registryError classifies a go-containerregistry failure.
func registryError(r name.Reference, plat v1.Platform, creds *Credentials, err error) error {
	reg := r.Context().RegistryStr()
	args := []string{"fetch", r.String(), "--platform", plat.String()}
	e := &Error{Kind: ErrFailed, Args: args, ExitCode: -1, Cause: err}
	var te *transport.Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		if errors.Is(err, context.DeadlineExceeded) {
			e.Kind = ErrTimeout
		}
		e.Stderr = "fetching " + r.String() + " from " + reg + ": " + err.Error()
	case errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden || hasCode(te, transport.UnauthorizedErrorCode, transport.DeniedErrorCode)):
		e.Kind = ErrAuth
		if creds == nil || (creds.Username == "" && creds.Password == "") {
			e.Stderr = fmt.Sprintf("registry %s refused anonymous access to %s (HTTP %d); give credentials", reg, r.Context().RepositoryStr(), te.StatusCode)
		} else {
			e.Stderr = fmt.Sprintf("registry %s refused the credentials of user %q for %s (HTTP %d)", reg, creds.Username, r.Context().RepositoryStr(), te.StatusCode)
		}
	case errors.As(err, &te) && (te.StatusCode == http.StatusNotFound || hasCode(te, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode)):
		e.Kind = ErrImageNotFound
		e.Stderr = fmt.Sprintf("image %s not found in registry %s", r.String(), reg)
	case strings.Contains(err.Error(), "no child with platform"), strings.Contains(err.Error(), "no matching"):
		e.Kind = ErrImageNotFound
		e.Stderr = fmt.Sprintf("image %s has no %s variant", r.String(), plat.String())
	default:
		e.Stderr = "fetching " + r.String() + " from " + reg + ": " + err.Error()
	}
	return e
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

// scrubSecret removes the password from an error's texts (belt and braces:
// no code path is known to echo it).
func scrubSecret(err error, creds *Credentials) error {
	if err == nil || creds == nil || len(creds.Password) < 3 || !strings.Contains(err.Error(), creds.Password) {
		return err
	}
	var e *Error
	if errors.As(err, &e) {
		cp := *e
		cp.Stderr = strings.ReplaceAll(cp.Stderr, creds.Password, redacted)
		if cp.Cause != nil {
			cp.Cause = errors.New(strings.ReplaceAll(cp.Cause.Error(), creds.Password, redacted))
		}
		return &cp
	}
	return &Error{Kind: ErrFailed, ExitCode: -1, Stderr: strings.ReplaceAll(err.Error(), creds.Password, redacted)}
}

// writeLayout writes img as an OCI image-layout tar to w.
func writeLayout(w io.Writer, img v1.Image, ref string, plat v1.Platform) error {
	tw := tar.NewWriter(w)
	now := time.Unix(0, 0)
	dir := func(n string) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: n, Mode: 0o755, ModTime: now})
	}
	file := func(n string, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: n, Mode: 0o644, Size: int64(len(b)), ModTime: now}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	manifest, err := img.RawManifest()
	if err != nil {
		return err
	}
	mdigest, err := img.Digest()
	if err != nil {
		return err
	}
	mt, err := img.MediaType()
	if err != nil {
		return err
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	if err := file("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	p := plat
	index := map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests": []v1.Descriptor{{
			MediaType:   mt,
			Digest:      mdigest,
			Size:        int64(len(manifest)),
			Platform:    &p,
			Annotations: map[string]string{AnnotationRefName: ref, AnnotationContainerdName: ref},
		}},
	}
	ib, err := json.Marshal(index)
	if err != nil {
		return err
	}
	if err := file("index.json", ib); err != nil {
		return err
	}
	if err := dir("blobs/"); err != nil {
		return err
	}
	if err := dir("blobs/sha256/"); err != nil {
		return err
	}
	written := map[v1.Hash]bool{}
	blob := func(h v1.Hash, b []byte) error {
		if written[h] {
			return nil
		}
		written[h] = true
		return file("blobs/"+h.Algorithm+"/"+h.Hex, b)
	}
	if err := blob(mdigest, manifest); err != nil {
		return err
	}
	if err := blob(cfgName, cfg); err != nil {
		return err
	}
	for _, l := range layers {
		if err := writeLayer(tw, l, written, now); err != nil {
			return err
		}
	}
	return tw.Close()
}

// writeLayer streams one compressed layer blob (its digest is verified by
// go-containerregistry while reading).
func writeLayer(tw *tar.Writer, l v1.Layer, written map[v1.Hash]bool, now time.Time) error {
	h, err := l.Digest()
	if err != nil {
		return err
	}
	if written[h] {
		return nil
	}
	written[h] = true
	size, err := l.Size()
	if err != nil {
		return err
	}
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "blobs/" + h.Algorithm + "/" + h.Hex, Mode: 0o644, Size: size, ModTime: now}); err != nil {
		return err
	}
	n, err := io.Copy(tw, rc)
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("layer %s: got %d bytes, manifest says %d", h, n, size)
	}
	return nil
}

package applecontainer

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/shoenig/test/must"
)

const (
	testUser = "robot"
	testPass = "s3cret-Pass-77"
)

// authRegistry is an in-memory registry on 127.0.0.1 whose repositories
// under private/ need basic auth (401 without or with wrong credentials).
func authRegistry(t *testing.T) string {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v2/private/") && r.Method != http.MethodPut && r.Method != http.MethodPost && r.Method != http.MethodPatch && r.Header.Get("X-Test-Push") == "" {
			u, p, ok := r.BasicAuth()
			if !ok || u != testUser || p != testPass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// pushTestHeader marks the test's own pushes (the wrapper lets them in).
type pushTestHeader struct{ rt http.RoundTripper }

func (p pushTestHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Test-Push", "1")
	return p.rt.RoundTrip(r)
}

func platformImage(t *testing.T, arch string) v1.Image {
	t.Helper()
	img, err := random.Image(512, 2)
	must.NoError(t, err)
	cf, err := img.ConfigFile()
	must.NoError(t, err)
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	img, err = mutate.ConfigFile(img, cf)
	must.NoError(t, err)
	return img
}

// pushIndex pushes an index of linux/amd64 and linux/arm64 images and
// returns the image of the host's architecture.
func pushIndex(t *testing.T, ref string) map[string]v1.Image {
	t.Helper()
	imgs := map[string]v1.Image{"amd64": platformImage(t, "amd64"), "arm64": platformImage(t, "arm64")}
	var idx v1.ImageIndex = empty.Index
	for arch, img := range imgs {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	r, err := name.ParseReference(ref)
	must.NoError(t, err)
	must.NoError(t, remote.WriteIndex(r, idx, remote.WithTransport(pushTestHeader{http.DefaultTransport})))
	return imgs
}

// readArchive unpacks an OCI layout tar into a directory.
func readArchive(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	must.NoError(t, err)
	defer f.Close()
	dir := t.TempDir()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		must.NoError(t, err)
		dst := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			must.NoError(t, os.MkdirAll(dst, 0o755))
			continue
		}
		must.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
		b, err := io.ReadAll(tr)
		must.NoError(t, err)
		must.NoError(t, os.WriteFile(dst, b, 0o644))
	}
	return dir
}

func TestFetchArchivePrivateRegistry(t *testing.T) {
	host := authRegistry(t)
	ref := host + "/private/app:1"
	imgs := pushIndex(t, ref)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dest := filepath.Join(t.TempDir(), "img.tar")

	err := FetchArchive(ctx, ref, &Credentials{Username: testUser, Password: testPass, ServerAddress: host}, "", dest, false)
	must.NoError(t, err)
	fi, err := os.Stat(dest)
	must.NoError(t, err)
	must.Eq(t, os.FileMode(0o600), fi.Mode().Perm())

	dir := readArchive(t, dest)
	must.FileExists(t, filepath.Join(dir, "oci-layout"))
	idx, err := layout.ImageIndexFromPath(dir)
	must.NoError(t, err)
	im, err := idx.IndexManifest()
	must.NoError(t, err)
	must.SliceLen(t, 1, im.Manifests)
	d := im.Manifests[0]
	must.Eq(t, ref, d.Annotations[AnnotationRefName])
	must.Eq(t, ref, d.Annotations[AnnotationContainerdName])
	must.Eq(t, "linux/"+runtime.GOARCH, d.Platform.String())
	want, err := imgs[runtime.GOARCH].Digest()
	must.NoError(t, err)
	must.Eq(t, want, d.Digest)
	got, err := idx.Image(d.Digest)
	must.NoError(t, err)
	must.NoError(t, validate.Image(got))

	// Another platform on request.
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	must.NoError(t, FetchArchive(ctx, ref, &Credentials{Username: testUser, Password: testPass}, "linux/"+other, dest, false))
	idx, err = layout.ImageIndexFromPath(readArchive(t, dest))
	must.NoError(t, err)
	im, err = idx.IndexManifest()
	must.NoError(t, err)
	want, _ = imgs[other].Digest()
	must.Eq(t, want, im.Manifests[0].Digest)
}

func TestFetchArchiveErrors(t *testing.T) {
	host := authRegistry(t)
	ref := host + "/private/app:1"
	pushIndex(t, ref)
	pushIndex(t, host+"/public/app:1")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dest := filepath.Join(t.TempDir(), "img.tar")

	err := FetchArchive(ctx, ref, &Credentials{Username: testUser, Password: "wrong-password-1"}, "", dest, false)
	must.ErrorIs(t, err, ErrAuth)
	must.StrContains(t, err.Error(), "registry "+host+" refused the credentials")
	must.StrNotContains(t, err.Error(), "wrong-password-1")
	must.FileNotExists(t, dest)

	err = FetchArchive(ctx, ref, nil, "", dest, false)
	must.ErrorIs(t, err, ErrAuth)
	must.StrContains(t, err.Error(), "refused anonymous access")

	err = FetchArchive(ctx, host+"/private/app:nope", &Credentials{Username: testUser, Password: testPass}, "", dest, false)
	must.ErrorIs(t, err, ErrImageNotFound)
	must.ErrorIs(t, err, ErrNotFound)
	must.StrNotContains(t, err.Error(), testPass)

	err = FetchArchive(ctx, host+"/public/app:1", nil, "linux/s390x", dest, false)
	must.ErrorIs(t, err, ErrImageNotFound)
	must.StrContains(t, err.Error(), "linux/s390x")

	must.NoError(t, FetchArchive(ctx, host+"/public/app:1", nil, "", dest, false))

	err = FetchArchive(ctx, ref, &Credentials{Username: testUser, Password: testPass, ServerAddress: "ghcr.io"}, "", dest, false)
	must.ErrorIs(t, err, ErrInvalidInput)
	must.StrContains(t, err.Error(), "ServerAddress")

	err = FetchArchive(ctx, "UPPER/Case", nil, "", dest, false)
	must.ErrorIs(t, err, ErrInvalidInput)
	err = FetchArchive(ctx, ref, nil, "arm64", dest, false)
	must.ErrorIs(t, err, ErrInvalidInput)
	err = FetchArchive(ctx, ref, nil, "", "", false)
	must.ErrorIs(t, err, ErrInvalidInput)

	cctx, ccancel := context.WithCancel(ctx)
	ccancel()
	err = FetchArchive(cctx, host+"/public/app:1", nil, "", dest, false)
	must.ErrorIs(t, err, context.Canceled)
}

func TestRegistryKey(t *testing.T) {
	must.Eq(t, "docker.io", registryKey("https://index.docker.io/v1/"))
	must.Eq(t, "docker.io", registryKey("registry-1.docker.io"))
	must.Eq(t, "127.0.0.1:5000", registryKey("http://127.0.0.1:5000"))
}

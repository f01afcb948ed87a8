package ociimages

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/shoenig/test/must"

	"github.com/tartanhq/tartan/internal/testenv"
)

func startTestRegistry(t *testing.T, o RegistryOptions) *Registry {
	t.Helper()
	before, _ := testenv.Goroutines()
	r, err := StartRegistry(o)
	must.NoError(t, err)
	t.Cleanup(func() {
		must.NoError(t, r.Close())
		deadline := time.Now().Add(5 * time.Second)
		for {
			n, stacks := testenv.Goroutines()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("goroutines: %d before, %d after Close:\n%s", before, n, stacks)
			}
			time.Sleep(20 * time.Millisecond) // poll, bounded by the deadline
		}
	})
	return r
}

func fetch(t *testing.T, ref string, auth authn.Authenticator) (v1.Image, error) {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	r, err := name.ParseReference(ref)
	must.NoError(t, err)
	if auth == nil {
		auth = authn.Anonymous
	}
	img, err := remote.Image(r, remote.WithAuth(auth), remote.WithTransport(tr))
	if err != nil {
		return nil, err
	}
	// Touch every blob so the registry serves them.
	if _, err := img.RawConfigFile(); err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
	}
	return img, nil
}

func TestRegistryServesPushedImagesAndCounts(t *testing.T) {
	reg := startTestRegistry(t, RegistryOptions{})
	img, err := SeedImage()
	must.NoError(t, err)
	must.NoError(t, reg.Push("library/seed:1", img))
	must.EqOp(t, RequestCounts{}, reg.Requests("library/seed")) // pushes are not counted

	got, err := fetch(t, reg.Ref("library/seed:1"), nil)
	must.NoError(t, err)
	want, _ := img.Digest()
	have, _ := got.Digest()
	must.EqOp(t, want, have)
	c := reg.Requests("library/seed")
	must.Positive(t, c.Manifests)
	must.EqOp(t, 3, c.Blobs) // config + two layers
}

func TestRegistryBasicAuthOnPrivatePrefixes(t *testing.T) {
	reg := startTestRegistry(t, RegistryOptions{Users: map[string]string{"alice": "pw"}, Private: []string{"team/"}})
	img, err := SeedImage()
	must.NoError(t, err)
	must.NoError(t, reg.Push("team/app:1", img))
	must.NoError(t, reg.Push("open/app:1", img))

	// Raw HTTP: the challenge go-containerregistry and docker clients expect.
	resp, err := http.Get("http://" + reg.Host + "/v2/team/app/manifests/1")
	must.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	must.EqOp(t, http.StatusUnauthorized, resp.StatusCode)
	must.EqOp(t, `Basic realm="tartan-sim-registry"`, resp.Header.Get("WWW-Authenticate"))
	must.StrContains(t, string(body), "UNAUTHORIZED")

	_, err = fetch(t, reg.Ref("team/app:1"), nil)
	must.ErrorContains(t, err, "authentication required")
	_, err = fetch(t, reg.Ref("team/app:1"), &authn.Basic{Username: "alice", Password: "bad"})
	must.ErrorContains(t, err, "invalid username or password")
	_, err = fetch(t, reg.Ref("team/app:1"), &authn.Basic{Username: "alice", Password: "pw"})
	must.NoError(t, err)
	_, err = fetch(t, reg.Ref("open/app:1"), nil)
	must.NoError(t, err)
	must.EqOp(t, 3, reg.Requests("team/app").Blobs) // only the authorized pull got blobs
}

func TestRegistryFailAfterBlobsTruncates(t *testing.T) {
	reg := startTestRegistry(t, RegistryOptions{FailAfterBlobs: 1})
	img, err := SeedImage()
	must.NoError(t, err)
	must.NoError(t, reg.Push("x/y:1", img))
	_, err = fetch(t, reg.Ref("x/y:1"), nil)
	must.Error(t, err)
}

func TestRegistryCloseEndsDelayedRequests(t *testing.T) {
	reg, err := StartRegistry(RegistryOptions{Delay: time.Minute})
	must.NoError(t, err)
	img, err := SeedImage()
	must.NoError(t, err)
	must.NoError(t, reg.Push("x/y:1", img))
	errc := make(chan error, 1)
	go func() {
		_, err := fetch(t, reg.Ref("x/y:1"), nil)
		errc <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for reg.Requests("x/y").Manifests == 0 {
		must.True(t, time.Now().Before(deadline), must.Sprint("no request arrived"))
		time.Sleep(10 * time.Millisecond) // poll, bounded by the deadline
	}
	start := time.Now()
	must.NoError(t, reg.Close())
	must.Less(t, 5*time.Second, time.Since(start))
	select {
	case err := <-errc:
		must.Error(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("client still blocked after Close")
	}
}

func TestStartRegistryRejectsEmptyPrivatePrefix(t *testing.T) {
	_, err := StartRegistry(RegistryOptions{Private: []string{""}})
	must.ErrorContains(t, err, "RegistryOptions.Private")
}

func TestWriteOCIArchiveLayout(t *testing.T) {
	img, err := SeedImage()
	must.NoError(t, err)
	path := filepath.Join(t.TempDir(), "a.tar")
	must.NoError(t, WriteOCIArchive(img, "docker.io/library/seed:latest", path))
	files := tarFiles(t, path)
	must.MapContainsKey(t, files, "oci-layout")
	var idx v1.IndexManifest
	must.NoError(t, json.Unmarshal([]byte(files["index.json"]), &idx))
	must.Len(t, 1, idx.Manifests)
	d, _ := img.Digest()
	must.EqOp(t, d, idx.Manifests[0].Digest)
	must.EqOp(t, "docker.io/library/seed:latest", idx.Manifests[0].Annotations[RefNameAnnotation])
	must.MapContainsKey(t, files, "blobs/sha256/"+d.Hex)

	// Same input, same bytes.
	path2 := filepath.Join(t.TempDir(), "b.tar")
	must.NoError(t, WriteOCIArchive(img, "docker.io/library/seed:latest", path2))
	a, _ := os.ReadFile(path)
	b, _ := os.ReadFile(path2)
	must.True(t, string(a) == string(b))

	_, err = Index(map[string]v1.Image{"linux": img})
	must.ErrorContains(t, err, "os/arch")
	must.ErrorContains(t, WriteOCIArchive("nope", "x", path), "unsupported")
}

func TestBusyboxIndexPlatforms(t *testing.T) {
	idx, err := BusyboxIndex(BusyboxOptions{})
	must.NoError(t, err)
	im, err := idx.IndexManifest()
	must.NoError(t, err)
	must.Len(t, 2, im.Manifests)
	archs := map[string]bool{}
	for _, m := range im.Manifests {
		archs[m.Platform.Architecture] = true
		child, err := idx.Image(m.Digest)
		must.NoError(t, err)
		cf, err := child.ConfigFile()
		must.NoError(t, err)
		must.EqOp(t, m.Platform.Architecture, cf.Architecture)
	}
	must.Eq(t, map[string]bool{"amd64": true, "arm64": true}, archs)
}

func tarFiles(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	must.NoError(t, err)
	defer f.Close()
	out := map[string]string{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		must.NoError(t, err)
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			must.NoError(t, err)
			out[h.Name] = string(b)
		}
	}
}

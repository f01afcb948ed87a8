package imagestore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/shoenig/test/must"

	"github.com/tartanhq/tartan/internal/sim/ociimages"
	"github.com/tartanhq/tartan/internal/testenv"
)

// startRegistry serves a registry for one test; closing it must leave no
// goroutine behind (the store's per-pull transports included).
func startRegistry(t *testing.T, o ociimages.RegistryOptions) *ociimages.Registry {
	t.Helper()
	before, _ := testenv.Goroutines()
	r, err := ociimages.StartRegistry(o)
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
				t.Fatalf("goroutines: %d before, %d after closing the registry:\n%s", before, n, stacks)
			}
			time.Sleep(20 * time.Millisecond) // poll, bounded by the deadline
		}
	})
	return r
}

func mustBusybox(t *testing.T, o ociimages.BusyboxOptions) v1.Image {
	t.Helper()
	img, err := ociimages.Busybox(o)
	must.NoError(t, err)
	return img
}

func digestOf(t *testing.T, x interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	d, err := x.Digest()
	must.NoError(t, err)
	return d.String()
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// storeFiles lists the files under root/dir (relative names).
func storeFiles(t *testing.T, s *Store, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.Root(), dir))
	must.NoError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestPullPublicImage(t *testing.T) {
	reg := startRegistry(t, ociimages.RegistryOptions{})
	img := mustBusybox(t, ociimages.BusyboxOptions{Cmd: []string{"echo", "pulled"}})
	must.NoError(t, reg.Push("library/bb:1", img))
	s := openStore(t)

	var lines []string
	got, err := s.Pull(ctxT(t), reg.Ref("library/bb:1"), PullOptions{Progress: func(l string) { lines = append(lines, l) }})
	must.NoError(t, err)
	must.EqOp(t, reg.Host+"/library/bb:1", got.Reference)
	must.EqOp(t, digestOf(t, img), got.Digest)
	must.Len(t, 1, got.Variants)
	must.Eq(t, []string{"echo", "pulled"}, got.Variants[0].Config.Config.Cmd)
	must.Positive(t, reg.Requests("library/bb").Blobs)

	// Plain progress lines: the fetch step ends at 100%, then the host
	// variant is unpacked.
	joined := strings.Join(lines, "\n")
	must.StrContains(t, joined, "[1/2] Fetching image 100% (4 of 4 blobs, ")
	must.StrContains(t, joined, "[2/2] Unpacking image for platform "+HostPlatform().String())

	// The reference is listed and runs.
	list, err := s.List()
	must.NoError(t, err)
	must.Len(t, 1, list)
	cfg, err := s.Unpack(reg.Ref("library/bb:1"), "", filepath.Join(t.TempDir(), "rootfs"))
	must.NoError(t, err)
	must.Eq(t, []string{"echo", "pulled"}, cfg.Cmd)

	// A second pull re-resolves the tag but downloads no blob again.
	blobs := reg.Requests("library/bb").Blobs
	_, err = s.Pull(ctxT(t), reg.Ref("library/bb:1"), PullOptions{})
	must.NoError(t, err)
	must.EqOp(t, blobs, reg.Requests("library/bb").Blobs)
}

func TestPullPrivateImageCredentials(t *testing.T) {
	reg := startRegistry(t, ociimages.RegistryOptions{
		Users:   map[string]string{"alice": "s3cret"},
		Private: []string{"private/"},
	})
	must.NoError(t, reg.Push("private/app:1", mustBusybox(t, ociimages.BusyboxOptions{})))
	must.NoError(t, reg.Push("public/app:1", mustBusybox(t, ociimages.BusyboxOptions{})))
	ref := reg.Ref("private/app:1")

	cases := []struct {
		name string
		auth authn.Authenticator
		want string
	}{
		{"missing", nil, "authentication required"},
		{"wrong password", &authn.Basic{Username: "alice", Password: "nope"}, "invalid username or password"},
		{"unknown user", &authn.Basic{Username: "bob", Password: "s3cret"}, "invalid username or password"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := openStore(t)
			_, err := s.Pull(ctxT(t), ref, PullOptions{Auth: c.auth})
			must.True(t, errors.Is(err, ErrUnauthorized), must.Sprint(err))
			must.StrContains(t, err.Error(), c.want)
			must.StrNotContains(t, err.Error(), "s3cret")
			_, err = s.Get(ref)
			must.True(t, errors.Is(err, ErrNotFound))
			must.SliceEmpty(t, storeFiles(t, s, "blobs/sha256"))
		})
	}
	s := openStore(t)
	_, err := s.Pull(ctxT(t), ref, PullOptions{Auth: &authn.Basic{Username: "alice", Password: "s3cret"}})
	must.NoError(t, err)
	_, err = s.Get(ref)
	must.NoError(t, err)
	// Public repositories of the same registry need nothing.
	_, err = s.Pull(ctxT(t), reg.Ref("public/app:1"), PullOptions{})
	must.NoError(t, err)
}

func TestPullUnknownImage(t *testing.T) {
	reg := startRegistry(t, ociimages.RegistryOptions{})
	s := openStore(t)
	_, err := s.Pull(ctxT(t), reg.Ref("nothing/here:1"), PullOptions{})
	must.True(t, errors.Is(err, ErrManifestUnknown), must.Sprint(err))
	must.StrContains(t, err.Error(), reg.Host+"/nothing/here:1")
}

func TestPullPlatformSelection(t *testing.T) {
	reg := startRegistry(t, ociimages.RegistryOptions{})
	idx, err := ociimages.BusyboxIndex(ociimages.BusyboxOptions{})
	must.NoError(t, err)
	must.NoError(t, reg.PushIndex("multi/bb:1", idx))
	ref := reg.Ref("multi/bb:1")
	host := HostPlatform()
	other := Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	if host.Architecture == "arm64" {
		other = Platform{OS: "linux", Architecture: "amd64"}
	}

	// One platform: the index is stored with only that child.
	s := openStore(t)
	got, err := s.Pull(ctxT(t), ref, PullOptions{Platform: other.String()})
	must.NoError(t, err)
	must.EqOp(t, digestOf(t, idx), got.Digest)
	must.True(t, got.MediaType.IsIndex())
	must.Len(t, 1, got.Variants)
	must.EqOp(t, other, got.Variants[0].Platform)
	_, err = s.Unpack(ref, "", filepath.Join(t.TempDir(), "r"))
	must.True(t, errors.Is(err, ErrPlatformNotFound), must.Sprint(err))
	_, err = s.Unpack(ref, other.String(), filepath.Join(t.TempDir(), "r"))
	must.NoError(t, err)

	// No platform: every child, as `container image pull` without --platform.
	s2 := openStore(t)
	got, err = s2.Pull(ctxT(t), ref, PullOptions{})
	must.NoError(t, err)
	must.Len(t, 2, got.Variants)
	_, err = s2.Unpack(ref, "", filepath.Join(t.TempDir(), "r"))
	must.NoError(t, err)

	// A platform the index lacks.
	s3 := openStore(t)
	_, err = s3.Pull(ctxT(t), ref, PullOptions{Platform: "linux/s390x"})
	must.True(t, errors.Is(err, ErrPlatformNotFound), must.Sprint(err))
	must.StrContains(t, err.Error(), "linux/s390x")
	_, err = s3.Get(ref)
	must.True(t, errors.Is(err, ErrNotFound))
	_, err = s3.Pull(ctxT(t), ref, PullOptions{Platform: "s390x"})
	must.ErrorContains(t, err, "Platform")
}

func TestPullFailingMidwayLeavesNoImage(t *testing.T) {
	reg := startRegistry(t, ociimages.RegistryOptions{FailAfterBlobs: 1})
	must.NoError(t, reg.Push("broken/bb:1", mustBusybox(t, ociimages.BusyboxOptions{})))
	s := openStore(t)
	_, err := s.Pull(ctxT(t), reg.Ref("broken/bb:1"), PullOptions{})
	must.Error(t, err)
	t.Logf("pull error: %v", err)
	must.StrContains(t, err.Error(), "unexpected EOF")
	_, err = s.Get(reg.Ref("broken/bb:1"))
	must.True(t, errors.Is(err, ErrNotFound))
	list, err := s.List()
	must.NoError(t, err)
	must.SliceEmpty(t, list)
	must.SliceEmpty(t, storeFiles(t, s, "blobs/sha256"))
	must.SliceEmpty(t, storeFiles(t, s, "tmp"))
	must.SliceEmpty(t, storeFiles(t, s, "rootfs"))
}

func TestPullCanceledByContext(t *testing.T) {
	reg := startRegistry(t, ociimages.RegistryOptions{Delay: 10 * time.Second})
	must.NoError(t, reg.Push("slow/bb:1", mustBusybox(t, ociimages.BusyboxOptions{})))
	s := openStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Pull(ctx, reg.Ref("slow/bb:1"), PullOptions{})
	must.True(t, errors.Is(err, context.DeadlineExceeded), must.Sprint(err))
	must.Less(t, 5*time.Second, time.Since(start))
	_, err = s.Get(reg.Ref("slow/bb:1"))
	must.True(t, errors.Is(err, ErrNotFound))
}

// Two stores on one root stand for two CLI processes pulling at once.
func TestConcurrentPullsShareOneStore(t *testing.T) {
	reg := startRegistry(t, ociimages.RegistryOptions{Delay: 20 * time.Millisecond})
	must.NoError(t, reg.Push("c/a:1", mustBusybox(t, ociimages.BusyboxOptions{Cmd: []string{"a"}})))
	must.NoError(t, reg.Push("c/b:1", mustBusybox(t, ociimages.BusyboxOptions{Cmd: []string{"b"}})))
	root := t.TempDir()
	refs := []string{reg.Ref("c/a:1"), reg.Ref("c/a:1"), reg.Ref("c/b:1"), reg.Ref("c/b:1")}
	var wg sync.WaitGroup
	errs := make([]error, len(refs))
	for i, ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(root)
			if err != nil {
				errs[i] = err
				return
			}
			_, errs[i] = s.Pull(ctxT(t), ref, PullOptions{})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		must.NoError(t, err)
	}
	s, err := Open(root)
	must.NoError(t, err)
	list, err := s.List()
	must.NoError(t, err)
	must.Len(t, 2, list)
	for _, want := range []string{"a", "b"} {
		cfg, err := s.Unpack(reg.Ref("c/"+want+":1"), "", filepath.Join(t.TempDir(), want))
		must.NoError(t, err)
		must.Eq(t, []string{want}, cfg.Cmd)
	}
	must.SliceEmpty(t, storeFiles(t, s, "tmp"))
}

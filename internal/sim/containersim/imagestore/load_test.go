package imagestore

import (
	"archive/tar"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/shoenig/test/must"

	"github.com/tartanhq/tartan/internal/sim/ociimages"
)

func TestLoadOCIArchiveImage(t *testing.T) {
	img := mustBusybox(t, ociimages.BusyboxOptions{Cmd: []string{"echo", "loaded"}, Remove: []string{"/etc/motd"}})
	path := filepath.Join(t.TempDir(), "img.tar")
	must.NoError(t, ociimages.WriteOCIArchive(img, "registry.example.com/team/app:2", path))
	s := openStore(t)
	got, err := s.Load(context.Background(), path)
	must.NoError(t, err)
	must.Len(t, 1, got)
	must.EqOp(t, "registry.example.com/team/app:2", got[0].Reference)
	must.EqOp(t, digestOf(t, img), got[0].Digest)
	dir := filepath.Join(t.TempDir(), "rootfs")
	cfg, err := s.Unpack("registry.example.com/team/app:2", "", dir)
	must.NoError(t, err)
	must.Eq(t, []string{"echo", "loaded"}, cfg.Cmd)
	_, err = os.Lstat(filepath.Join(dir, "etc/motd"))
	must.True(t, errors.Is(err, os.ErrNotExist))
	must.SliceEmpty(t, storeFiles(t, s, "tmp"))
}

func TestLoadOCIArchiveIndexKeepsAllPlatforms(t *testing.T) {
	idx, err := ociimages.BusyboxIndex(ociimages.BusyboxOptions{})
	must.NoError(t, err)
	path := filepath.Join(t.TempDir(), "idx.tar")
	must.NoError(t, ociimages.WriteOCIArchive(idx, "multi", path))
	s := openStore(t)
	got, err := s.Load(context.Background(), path)
	must.NoError(t, err)
	must.Len(t, 1, got)
	must.EqOp(t, "docker.io/library/multi:latest", got[0].Reference)
	must.True(t, got[0].MediaType.IsIndex())
	must.Len(t, 2, got[0].Variants)
	_, err = s.Unpack("multi", "", filepath.Join(t.TempDir(), "r"))
	must.NoError(t, err)
}

func TestLoadDockerSaveArchive(t *testing.T) {
	img := mustBusybox(t, ociimages.BusyboxOptions{Cmd: []string{"echo", "docker"}, Opaque: []string{"/etc/skel"}})
	path := filepath.Join(t.TempDir(), "docker.tar")
	must.NoError(t, ociimages.WriteDockerArchive(img, "localhost:5000/saved:v1", path))
	s := openStore(t)
	got, err := s.Load(context.Background(), path)
	must.NoError(t, err)
	must.Len(t, 1, got)
	must.EqOp(t, "localhost:5000/saved:v1", got[0].Reference)
	dir := filepath.Join(t.TempDir(), "rootfs")
	cfg, err := s.Unpack("localhost:5000/saved:v1", "", dir)
	must.NoError(t, err)
	must.Eq(t, []string{"echo", "docker"}, cfg.Cmd)
	entries, err := os.ReadDir(filepath.Join(dir, "etc/skel"))
	must.NoError(t, err)
	must.SliceEmpty(t, entries)
	_, err = os.Stat(filepath.Join(dir, "bin/busybox"))
	must.NoError(t, err)

	// docker save spells Hub images "index.docker.io/..." or "name:tag".
	path2 := filepath.Join(t.TempDir(), "hub.tar")
	must.NoError(t, ociimages.WriteDockerArchive(img, "alpine:3", path2))
	got, err = s.Load(context.Background(), path2)
	must.NoError(t, err)
	must.EqOp(t, "docker.io/library/alpine:3", got[0].Reference)
}

func TestLoadRejectsBadArchives(t *testing.T) {
	s := openStore(t)
	dir := t.TempDir()

	_, err := s.Load(context.Background(), filepath.Join(dir, "missing.tar"))
	must.ErrorContains(t, err, "missing.tar")

	notTar := filepath.Join(dir, "not.tar")
	must.NoError(t, os.WriteFile(notTar, []byte("hello, not a tar archive at all, just some text padding it out"), 0o644))
	_, err = s.Load(context.Background(), notTar)
	must.True(t, errors.Is(err, ErrInvalidArchive), must.Sprint(err))

	emptyTar := filepath.Join(dir, "empty.tar")
	writeTar(t, emptyTar, map[string]string{"hello.txt": "hi"})
	_, err = s.Load(context.Background(), emptyTar)
	must.True(t, errors.Is(err, ErrInvalidArchive), must.Sprint(err))
	must.StrContains(t, err.Error(), "oci-layout")

	escape := filepath.Join(dir, "escape.tar")
	writeTar(t, escape, map[string]string{"../outside": "x"})
	_, err = s.Load(context.Background(), escape)
	must.True(t, errors.Is(err, ErrUnsafePath), must.Sprint(err))
	_, err = os.Stat(filepath.Join(s.Root(), "outside"))
	must.True(t, errors.Is(err, os.ErrNotExist))

	// An OCI layout whose index entry carries no name cannot be loaded.
	unnamed := filepath.Join(dir, "unnamed.tar")
	must.NoError(t, ociimages.WriteOCIArchive(mustBusybox(t, ociimages.BusyboxOptions{}), "", unnamed))
	_, err = s.Load(context.Background(), unnamed)
	must.True(t, errors.Is(err, ErrInvalidArchive), must.Sprint(err))
	must.StrContains(t, err.Error(), "org.opencontainers.image.ref.name")

	list, err := s.List()
	must.NoError(t, err)
	must.SliceEmpty(t, list)
	must.SliceEmpty(t, storeFiles(t, s, "blobs/sha256"))
	must.SliceEmpty(t, storeFiles(t, s, "tmp"))
}

func writeTar(t *testing.T, path string, files map[string]string) {
	t.Helper()
	f, err := os.Create(path)
	must.NoError(t, err)
	tw := tar.NewWriter(f)
	for name, body := range files {
		must.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}))
		_, err := tw.Write([]byte(body))
		must.NoError(t, err)
	}
	must.NoError(t, tw.Close())
	must.NoError(t, f.Close())
}

func TestDeleteCollectsUnsharedContent(t *testing.T) {
	s := openStore(t)
	a := mustBusybox(t, ociimages.BusyboxOptions{Cmd: []string{"a"}})
	b := mustBusybox(t, ociimages.BusyboxOptions{Cmd: []string{"b"}, Files: map[string]string{"/b": "b"}})
	_, err := s.Add(a, "a")
	must.NoError(t, err)
	_, err = s.Add(b, "b")
	must.NoError(t, err)
	_, err = s.Unpack("a", "", filepath.Join(t.TempDir(), "a"))
	must.NoError(t, err)
	_, err = s.Unpack("b", "", filepath.Join(t.TempDir(), "b"))
	must.NoError(t, err)
	before := len(storeFiles(t, s, "blobs/sha256"))
	must.Len(t, 2, storeFiles(t, s, "rootfs"))

	must.NoError(t, s.Delete("b"))
	_, err = s.Get("b")
	must.True(t, errors.Is(err, ErrNotFound))
	// b's manifest, config and top layer go; the shared busybox layer stays.
	must.EqOp(t, before-3, len(storeFiles(t, s, "blobs/sha256")))
	must.Len(t, 1, storeFiles(t, s, "rootfs"))
	cfg, err := s.Unpack("a", "", filepath.Join(t.TempDir(), "a2"))
	must.NoError(t, err)
	must.Eq(t, []string{"a"}, cfg.Cmd)

	// Re-adding the same content keeps the first stored date.
	img1, err := s.Add(a, "a")
	must.NoError(t, err)
	img2, err := s.Add(a, "a")
	must.NoError(t, err)
	must.True(t, img1.Stored.Equal(img2.Stored))
}

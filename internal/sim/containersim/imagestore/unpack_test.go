package imagestore

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/shoenig/test/must"

	"github.com/tartanhq/tartan/internal/sim/ociimages"
)

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	must.NoError(t, err)
	return s
}

func TestAddGetUnpackBusybox(t *testing.T) {
	s := openStore(t)
	img, err := ociimages.Busybox(ociimages.BusyboxOptions{
		Entrypoint:   []string{"/bin/sh", "-c"},
		Cmd:          []string{"echo hi"},
		WorkingDir:   "/srv",
		User:         "1000:1000",
		StopSignal:   "SIGTERM",
		ExposedPorts: []string{"8080/tcp", "53/udp"},
		Labels:       map[string]string{"a": "b"},
		Files:        map[string]string{"/srv/index.html": "hello\n", "/usr/local/bin/greet": "#!/bin/sh\necho greet\n"},
		Remove:       []string{"/etc/motd"},
		Opaque:       []string{"/etc/skel"},
	})
	must.NoError(t, err)
	stored, err := s.Add(img, "tartan/busybox")
	must.NoError(t, err)
	must.EqOp(t, "docker.io/tartan/busybox:latest", stored.Reference)
	d, _ := img.Digest()
	must.EqOp(t, d.String(), stored.Digest)
	must.Len(t, 1, stored.Variants)
	must.EqOp(t, HostPlatform(), stored.Variants[0].Platform)

	got, err := s.Get("docker.io/tartan/busybox:latest")
	must.NoError(t, err)
	must.EqOp(t, stored.Digest, got.Digest)

	dir := filepath.Join(t.TempDir(), "rootfs")
	cfg, err := s.Unpack("tartan/busybox", "", dir)
	must.NoError(t, err)
	must.Eq(t, []string{"/bin/sh", "-c"}, cfg.Entrypoint)
	must.Eq(t, []string{"echo hi"}, cfg.Cmd)
	must.Eq(t, []string{ociimages.DefaultPath}, cfg.Env)
	must.EqOp(t, "/srv", cfg.WorkingDir)
	must.EqOp(t, "1000:1000", cfg.User)
	must.EqOp(t, "SIGTERM", cfg.StopSignal)
	must.Eq(t, []string{"53/udp", "8080/tcp"}, cfg.ExposedPorts)
	must.Eq(t, map[string]string{"a": "b"}, cfg.Labels)

	b, err := os.ReadFile(filepath.Join(dir, "srv/index.html"))
	must.NoError(t, err)
	must.EqOp(t, "hello\n", string(b))
	fi, err := os.Stat(filepath.Join(dir, "usr/local/bin/greet"))
	must.NoError(t, err)
	must.EqOp(t, os.FileMode(0o755), fi.Mode().Perm())
	// Whiteout and opaque directory from layer 2.
	_, err = os.Lstat(filepath.Join(dir, "etc/motd"))
	must.True(t, errors.Is(err, os.ErrNotExist))
	entries, err := os.ReadDir(filepath.Join(dir, "etc/skel"))
	must.NoError(t, err)
	must.SliceEmpty(t, entries)
	// Symlinked applets, /tmp sticky, /home/app owned by 1000.
	l, err := os.Readlink(filepath.Join(dir, "bin/sh"))
	must.NoError(t, err)
	must.EqOp(t, "busybox", l)
	bb1, err := os.Stat(filepath.Join(dir, "bin/busybox"))
	must.NoError(t, err)
	bb2, err := os.Stat(filepath.Join(dir, "usr/bin/busybox"))
	must.NoError(t, err)
	must.True(t, os.SameFile(bb1, bb2), must.Sprint("hardlink kept through the cache copy"))
	fi, err = os.Stat(filepath.Join(dir, "tmp"))
	must.NoError(t, err)
	must.True(t, fi.Mode()&os.ModeSticky != 0)
	fi, err = os.Stat(filepath.Join(dir, "home/app"))
	must.NoError(t, err)
	if os.Geteuid() == 0 {
		must.EqOp(t, uint32(1000), fi.Sys().(*syscall.Stat_t).Uid)
	}

	// The unpacked busybox really runs (static binary, linux host only).
	if runtime.GOOS == "linux" {
		out, err := exec.Command(filepath.Join(dir, "bin/busybox"), "echo", "from-rootfs").CombinedOutput()
		must.NoError(t, err, must.Sprint(string(out)))
		must.EqOp(t, "from-rootfs\n", string(out))
	}

	// A second container gets its own copy: writing into it leaves the cache
	// and the first container alone.
	dir2 := filepath.Join(t.TempDir(), "rootfs2")
	_, err = s.Unpack("tartan/busybox", "", dir2)
	must.NoError(t, err)
	must.NoError(t, os.WriteFile(filepath.Join(dir2, "srv/index.html"), []byte("changed"), 0o644))
	b, err = os.ReadFile(filepath.Join(dir, "srv/index.html"))
	must.NoError(t, err)
	must.EqOp(t, "hello\n", string(b))
	dir3 := filepath.Join(t.TempDir(), "rootfs3")
	_, err = s.Unpack("tartan/busybox", "", dir3)
	must.NoError(t, err)
	b, err = os.ReadFile(filepath.Join(dir3, "srv/index.html"))
	must.NoError(t, err)
	must.EqOp(t, "hello\n", string(b))
}

func TestGetMissingIsNotFound(t *testing.T) {
	s := openStore(t)
	_, err := s.Get("alpine")
	must.True(t, errors.Is(err, ErrNotFound))
	must.StrContains(t, err.Error(), "docker.io/library/alpine:latest")
	err = s.Delete("alpine")
	must.True(t, errors.Is(err, ErrNotFound))
	_, err = s.Unpack("alpine", "", t.TempDir())
	must.True(t, errors.Is(err, ErrNotFound))
}

func TestUnpackRefusesNonEmptyTarget(t *testing.T) {
	s := openStore(t)
	img, err := ociimages.SeedImage()
	must.NoError(t, err)
	_, err = s.Add(img, "seed")
	must.NoError(t, err)
	dir := t.TempDir()
	must.NoError(t, os.WriteFile(filepath.Join(dir, "x"), nil, 0o644))
	_, err = s.Unpack("seed", "", dir)
	must.ErrorContains(t, err, "not empty")
}

func TestUnpackUnknownPlatform(t *testing.T) {
	s := openStore(t)
	img, err := ociimages.SeedImage()
	must.NoError(t, err)
	_, err = s.Add(img, "seed")
	must.NoError(t, err)
	_, err = s.Unpack("seed", "linux/s390x", filepath.Join(t.TempDir(), "r"))
	must.True(t, errors.Is(err, ErrPlatformNotFound))
	_, err = s.Unpack("seed", "linux", filepath.Join(t.TempDir(), "r"))
	must.ErrorContains(t, err, "os/arch")
}

// tarLayer builds a layer from raw tar entries (headers with bodies).
func tarLayer(t *testing.T, entries ...tarEntry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		h.Size = int64(len(e.body))
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		must.NoError(t, tw.WriteHeader(&h))
		_, err := tw.Write([]byte(e.body))
		must.NoError(t, err)
	}
	must.NoError(t, tw.Close())
	l, err := ociimages.LayerFromTar(buf.Bytes())
	must.NoError(t, err)
	return l
}

type tarEntry struct {
	hdr  tar.Header
	body string
}

func reg(name, body string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name}, body: body}
}
func dirEntry(name string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755}}
}
func symlink(name, target string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}}
}
func hardlink(name, target string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target}}
}

func TestApplyLayersWhiteoutsLinksAndOpaque(t *testing.T) {
	root := t.TempDir()
	l1 := tarLayer(t,
		dirEntry("a/"), reg("a/keep", "k"), reg("a/gone", "g"),
		dirEntry("o/"), reg("o/old", "old"), dirEntry("o/sub/"), reg("o/sub/deep", "d"),
		reg("f", "file"), hardlink("f-link", "f"), symlink("s", "/a/keep"),
		dirEntry("replaced/"), reg("replaced/x", "x"),
	)
	l2 := tarLayer(t,
		reg("a/.wh.gone", ""),
		dirEntry("o/"), reg("o/new", "new"), reg("o/.wh..wh..opq", ""),
		reg("replaced", "now a file"),
		reg("s/../a/through-symlink-parent", "t"), // "s/.." is cleaned lexically to "a/..."
	)
	must.NoError(t, ApplyLayers(root, []v1.Layer{l1, l2}))
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(root, p))
		must.NoError(t, err, must.Sprint(p))
		return string(b)
	}
	must.EqOp(t, "k", read("a/keep"))
	_, err := os.Lstat(filepath.Join(root, "a/gone"))
	must.True(t, errors.Is(err, os.ErrNotExist))
	must.EqOp(t, "new", read("o/new"))
	_, err = os.Lstat(filepath.Join(root, "o/old"))
	must.True(t, errors.Is(err, os.ErrNotExist))
	_, err = os.Lstat(filepath.Join(root, "o/sub"))
	must.True(t, errors.Is(err, os.ErrNotExist))
	must.EqOp(t, "now a file", read("replaced"))
	must.EqOp(t, "t", read("a/through-symlink-parent"))
	// Hardlink shares the inode; symlink kept verbatim.
	fi1, _ := os.Stat(filepath.Join(root, "f"))
	fi2, _ := os.Stat(filepath.Join(root, "f-link"))
	must.True(t, os.SameFile(fi1, fi2))
	l, err := os.Readlink(filepath.Join(root, "s"))
	must.NoError(t, err)
	must.EqOp(t, "/a/keep", l)
}

func TestApplyLayersRefusesEscapes(t *testing.T) {
	outside := t.TempDir()
	cases := map[string][]tarEntry{
		"dotdot":          {reg("../escaped", "x")},
		"nested dotdot":   {reg("a/../../escaped", "x")},
		"hardlink escape": {hardlink("h", "../../etc/passwd")},
	}
	for name, entries := range cases {
		t.Run(name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "root")
			must.NoError(t, os.Mkdir(root, 0o755))
			err := ApplyLayers(root, []v1.Layer{tarLayer(t, entries...)})
			must.True(t, errors.Is(err, ErrUnsafePath), must.Sprint(err))
		})
	}
	// A symlink to an absolute host path is followed inside the rootfs only.
	root := filepath.Join(t.TempDir(), "root")
	must.NoError(t, os.Mkdir(root, 0o755))
	err := ApplyLayers(root, []v1.Layer{
		tarLayer(t, symlink("evil", outside), symlink("up", "../../../..")),
		tarLayer(t, reg("evil/planted", "x"), reg("up/planted2", "y")),
	})
	must.NoError(t, err)
	entries, err := os.ReadDir(outside)
	must.NoError(t, err)
	must.SliceEmpty(t, entries)
	b, err := os.ReadFile(filepath.Join(root, outside, "planted"))
	must.NoError(t, err)
	must.EqOp(t, "x", string(b))
	b, err = os.ReadFile(filepath.Join(root, "planted2"))
	must.NoError(t, err)
	must.EqOp(t, "y", string(b))
}

// Containers starting together race to build the cache; each gets a
// complete rootfs and exactly one cache remains.
func TestConcurrentUnpackBuildsOneCache(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root)
	must.NoError(t, err)
	img, err := ociimages.SeedImage()
	must.NoError(t, err)
	_, err = s.Add(img, "seed")
	must.NoError(t, err)
	const n = 4
	errs := make(chan error, n)
	dirs := make([]string, n)
	for i := range n {
		dirs[i] = filepath.Join(t.TempDir(), "rootfs")
		go func() {
			other, err := Open(root) // one Store per "process"
			if err != nil {
				errs <- err
				return
			}
			_, err = other.Unpack("seed", "", dirs[i])
			errs <- err
		}()
	}
	for range n {
		must.NoError(t, <-errs)
	}
	for _, d := range dirs {
		_, err := os.Stat(filepath.Join(d, "bin/busybox"))
		must.NoError(t, err)
	}
	must.Len(t, 1, storeFiles(t, s, "rootfs"))
	must.SliceEmpty(t, storeFiles(t, s, "tmp"))
}

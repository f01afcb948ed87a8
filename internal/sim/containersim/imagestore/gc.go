package imagestore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// errBusy: another process holds gc.lock shared (a pull, load or unpack runs).
var errBusy = errors.New("imagestore: store busy, garbage collection skipped")

// useContent holds gc.lock shared while blobs or rootfs caches are being
// written or read, so GC never removes content in use.
func (s *Store) useContent() (func(), error) { return s.lock("gc.lock", unix.LOCK_SH) }

// GC removes blobs and rootfs caches that no reference reaches. It does
// nothing (errBusy) while any process uses the content. Returns the number
// of bytes of blobs removed.
func (s *Store) GC() (int64, error) {
	unlockGC, err := s.lock("gc.lock", unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return 0, errBusy
	}
	if err != nil {
		return 0, err
	}
	defer unlockGC()
	unlock, err := s.lock("lock", unix.LOCK_EX)
	if err != nil {
		return 0, err
	}
	defer unlock()
	db, err := s.readRefs()
	if err != nil {
		return 0, err
	}
	live := map[string]bool{}
	for _, rec := range db.Refs {
		s.markLive(rec.Digest, live)
	}
	var freed int64
	blobDir := filepath.Join(s.root, "blobs", "sha256")
	entries, err := os.ReadDir(blobDir)
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		if live["sha256:"+e.Name()] {
			continue
		}
		if fi, err := e.Info(); err == nil {
			freed += fi.Size()
		}
		if err := os.Remove(filepath.Join(blobDir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return freed, err
		}
	}
	caches, err := os.ReadDir(filepath.Join(s.root, "rootfs"))
	if err != nil {
		return freed, err
	}
	for _, e := range caches {
		if !live["sha256:"+e.Name()] {
			if err := os.RemoveAll(filepath.Join(s.root, "rootfs", e.Name())); err != nil {
				return freed, err
			}
		}
	}
	// Leftovers of crashed processes (nobody uses content right now).
	tmps, _ := os.ReadDir(filepath.Join(s.root, "tmp"))
	for _, e := range tmps {
		_ = os.RemoveAll(filepath.Join(s.root, "tmp", e.Name()))
	}
	return freed, nil
}

// markLive marks digest and everything it references (manifests, configs,
// layers, index children) that is stored locally.
func (s *Store) markLive(digest string, live map[string]bool) {
	if live[digest] {
		return
	}
	live[digest] = true
	raw, err := s.readBlob(digest)
	if err != nil {
		return
	}
	if im, err := v1.ParseIndexManifest(bytes.NewReader(raw)); err == nil && len(im.Manifests) > 0 {
		for _, d := range im.Manifests {
			s.markLive(d.Digest.String(), live)
		}
		return
	}
	if m, err := v1.ParseManifest(bytes.NewReader(raw)); err == nil {
		live[m.Config.Digest.String()] = true
		for _, l := range m.Layers {
			live[l.Digest.String()] = true
		}
	}
}

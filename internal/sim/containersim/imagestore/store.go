package imagestore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"
)

// Store is an image store rooted at a directory:
//
//	<root>/oci-layout, <root>/blobs/sha256/<hex>  content (an OCI layout)
//	<root>/refs.json                               reference -> descriptor
//	<root>/rootfs/<manifest hex>/                  unpacked rootfs cache
//	<root>/tmp/                                    in-progress files
//	<root>/lock, <root>/gc.lock                    flocks (see package doc)
type Store struct {
	root string
	// Now is the clock for creation dates (tests may fix it).
	Now func() time.Time
}

// refRecord is one entry of refs.json.
type refRecord struct {
	Digest    string          `json:"digest"`
	MediaType types.MediaType `json:"mediaType"`
	Size      int64           `json:"size"`
	Created   time.Time       `json:"created"`
}

type refsDB struct {
	Refs map[string]refRecord `json:"refs"`
}

// Open creates (if needed) and opens the store at root.
func Open(root string) (*Store, error) {
	if root == "" {
		return nil, errors.New("imagestore: empty root directory")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("imagestore: root %q: %w", root, err)
	}
	for _, d := range []string{"blobs/sha256", "rootfs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(abs, d), 0o700); err != nil {
			return nil, fmt.Errorf("imagestore: create %s: %w", d, err)
		}
	}
	layoutFile := filepath.Join(abs, "oci-layout")
	if _, err := os.Stat(layoutFile); errors.Is(err, os.ErrNotExist) {
		if err := writeFileAtomic(abs, layoutFile, []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
			return nil, err
		}
	}
	indexFile := filepath.Join(abs, "index.json")
	if _, err := os.Stat(indexFile); errors.Is(err, os.ErrNotExist) {
		// Unused by the store (refs.json names images) but keeps the
		// directory a valid OCI layout for layout.Path readers and humans.
		if err := writeFileAtomic(abs, indexFile, []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`)); err != nil {
			return nil, err
		}
	}
	return &Store{root: abs, Now: time.Now}, nil
}

// Root is the store's directory.
func (s *Store) Root() string { return s.root }

func (s *Store) blobPath(h v1.Hash) string {
	return filepath.Join(s.root, "blobs", h.Algorithm, h.Hex)
}

func (s *Store) hasBlob(h v1.Hash) bool {
	_, err := os.Stat(s.blobPath(h))
	return err == nil
}

// writeBlob stores r under h, verifying the digest; it is a no-op when the
// blob exists. Returns bytes written (0 when already present).
func (s *Store) writeBlob(h v1.Hash, r io.Reader, onWrite func(int64)) (int64, error) {
	if s.hasBlob(h) {
		return 0, nil
	}
	f, err := os.CreateTemp(filepath.Join(s.root, "tmp"), "blob-*")
	if err != nil {
		return 0, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	hasher, err := v1.Hasher(h.Algorithm)
	if err != nil {
		f.Close()
		return 0, err
	}
	n, err := io.Copy(io.MultiWriter(f, hasher, progressWriter(onWrite)), r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, err
	}
	got := v1.Hash{Algorithm: h.Algorithm, Hex: fmt.Sprintf("%x", hasher.Sum(nil))}
	if got != h {
		return n, fmt.Errorf("imagestore: blob digest mismatch: want %s, got %s", h, got)
	}
	if err := os.Rename(tmp, s.blobPath(h)); err != nil {
		return n, err
	}
	return n, nil
}

func (s *Store) writeBlobBytes(h v1.Hash, b []byte) error {
	_, err := s.writeBlob(h, bytes.NewReader(b), nil)
	return err
}

type progressWriter func(int64)

func (p progressWriter) Write(b []byte) (int, error) {
	if p != nil {
		p(int64(len(b)))
	}
	return len(b), nil
}

// lock takes an flock on <root>/<file>; how is unix.LOCK_EX or LOCK_SH
// (optionally | LOCK_NB). The returned func releases it.
func (s *Store) lock(file string, how int) (func(), error) {
	f, err := os.OpenFile(filepath.Join(s.root, file), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

func (s *Store) readRefs() (refsDB, error) {
	db := refsDB{Refs: map[string]refRecord{}}
	b, err := os.ReadFile(filepath.Join(s.root, "refs.json"))
	if errors.Is(err, os.ErrNotExist) {
		return db, nil
	}
	if err != nil {
		return db, err
	}
	if err := json.Unmarshal(b, &db); err != nil {
		return db, fmt.Errorf("imagestore: %s/refs.json is corrupt: %w", s.root, err)
	}
	if db.Refs == nil {
		db.Refs = map[string]refRecord{}
	}
	return db, nil
}

// updateRefs runs fn on refs.json under the exclusive lock and writes the
// result atomically.
func (s *Store) updateRefs(fn func(*refsDB) error) error {
	unlock, err := s.lock("lock", unix.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	db, err := s.readRefs()
	if err != nil {
		return err
	}
	if err := fn(&db); err != nil {
		return err
	}
	b, err := json.MarshalIndent(db, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.root, filepath.Join(s.root, "refs.json"), b)
}

func writeFileAtomic(root, path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Join(root, "tmp"), "file-*")
	if err != nil {
		// tmp/ may not exist yet during Open.
		f, err = os.CreateTemp(filepath.Dir(path), ".tmp-*")
		if err != nil {
			return err
		}
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

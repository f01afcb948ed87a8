package imagestore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Image is one stored reference with what `image list/inspect` print.
type Image struct {
	Reference string          // normalized, e.g. docker.io/library/alpine:latest
	Digest    string          // "sha256:<hex>" of the index or manifest the reference names
	MediaType types.MediaType // of that index or manifest
	Size      int64           // size of that index or manifest blob
	FullSize  int64           // Size + every locally present variant's Size
	// Created is the earliest variant's config "created" (what 1.x prints
	// as creationDate), the Unix epoch when no config records one.
	Created  time.Time
	Stored   time.Time // when the reference was (last re)written by pull/load/add
	Variants []Variant // platforms present locally, sorted by platform
}

// Variant is one platform's image manifest.
type Variant struct {
	Platform  Platform
	Digest    string          // manifest digest
	MediaType types.MediaType // manifest media type
	Size      int64           // manifest + config + layers (compressed)
	Config    v1.ConfigFile
}

// ImageConfig is what the runtime needs from an image's config.
type ImageConfig struct {
	Platform       Platform
	ManifestDigest string
	Entrypoint     []string
	Cmd            []string
	Env            []string
	WorkingDir     string
	User           string
	StopSignal     string
	ExposedPorts   []string // sorted, e.g. "80/tcp"
	Labels         map[string]string
}

// Variant returns the variant for platform ("" = host platform).
func (img Image) Variant(platform string) (Variant, error) {
	want := HostPlatform()
	if platform != "" {
		p, err := ParsePlatform(platform)
		if err != nil {
			return Variant{}, err
		}
		want = p
	}
	var have []string
	for _, v := range img.Variants {
		if want.matches(v.Platform) {
			return v, nil
		}
		have = append(have, v.Platform.String())
	}
	return Variant{}, fmt.Errorf("%w: %s has no %s variant locally (has %v)", ErrPlatformNotFound, img.Reference, want, have)
}

// Get returns the image stored under ref (normalized first).
func (s *Store) Get(ref string) (Image, error) {
	norm, err := NormalizeReference(ref)
	if err != nil {
		return Image{}, err
	}
	db, err := s.readRefs()
	if err != nil {
		return Image{}, err
	}
	rec, ok := db.Refs[norm]
	if !ok {
		return Image{}, fmt.Errorf("%w: %s", ErrNotFound, norm)
	}
	return s.describe(norm, rec)
}

// List returns every stored image sorted by reference.
func (s *Store) List() ([]Image, error) {
	db, err := s.readRefs()
	if err != nil {
		return nil, err
	}
	refs := make([]string, 0, len(db.Refs))
	for r := range db.Refs {
		refs = append(refs, r)
	}
	slices.Sort(refs)
	out := make([]Image, 0, len(refs))
	for _, r := range refs {
		img, err := s.describe(r, db.Refs[r])
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, nil
}

func (s *Store) readBlob(digest string) ([]byte, error) {
	h, err := v1.NewHash(digest)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(s.blobPath(h))
}

func (s *Store) describe(ref string, rec refRecord) (Image, error) {
	img := Image{Reference: ref, Digest: rec.Digest, MediaType: rec.MediaType, Size: rec.Size, Stored: rec.Created}
	raw, err := s.readBlob(rec.Digest)
	if err != nil {
		return Image{}, fmt.Errorf("imagestore: %s: top blob %s: %w", ref, rec.Digest, err)
	}
	if rec.MediaType.IsIndex() {
		vs, err := s.indexVariants(raw)
		if err != nil {
			return Image{}, fmt.Errorf("imagestore: %s: %w", ref, err)
		}
		img.Variants = vs
	} else {
		v, err := s.variant(rec.Digest, rec.MediaType, nil)
		if err != nil {
			return Image{}, fmt.Errorf("imagestore: %s: %w", ref, err)
		}
		img.Variants = []Variant{v}
	}
	img.FullSize = img.Size
	img.Created = time.Unix(0, 0).UTC()
	first := true
	for _, v := range img.Variants {
		img.FullSize += v.Size
		if c := v.Config.Created.Time; !c.IsZero() && (first || c.Before(img.Created)) {
			img.Created, first = c.UTC(), false
		}
	}
	slices.SortFunc(img.Variants, func(a, b Variant) int {
		if c := bytes.Compare([]byte(a.Platform.String()), []byte(b.Platform.String())); c != 0 {
			return c
		}
		return bytes.Compare([]byte(a.Digest), []byte(b.Digest))
	})
	return img, nil
}

// indexVariants lists the children of an index whose manifests are stored
// (a single-platform pull stores the index but only one child).
func (s *Store) indexVariants(raw []byte) ([]Variant, error) {
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	var out []Variant
	for _, d := range im.Manifests {
		if !s.hasBlob(d.Digest) {
			continue
		}
		switch {
		case d.MediaType.IsImage():
			if d.Platform != nil && d.Platform.OS == "unknown" {
				continue
			}
			v, err := s.variant(d.Digest.String(), d.MediaType, d.Platform)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		case d.MediaType.IsIndex():
			b, err := s.readBlob(d.Digest.String())
			if err != nil {
				return nil, err
			}
			vs, err := s.indexVariants(b)
			if err != nil {
				return nil, err
			}
			out = append(out, vs...)
		}
	}
	return out, nil
}

func (s *Store) variant(digest string, mt types.MediaType, p *v1.Platform) (Variant, error) {
	raw, err := s.readBlob(digest)
	if err != nil {
		return Variant{}, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return Variant{}, fmt.Errorf("manifest %s: %w", digest, err)
	}
	cfgRaw, err := s.readBlob(m.Config.Digest.String())
	if err != nil {
		return Variant{}, fmt.Errorf("config of %s: %w", digest, err)
	}
	var cf v1.ConfigFile
	if err := json.Unmarshal(cfgRaw, &cf); err != nil {
		return Variant{}, fmt.Errorf("config of %s: %w", digest, err)
	}
	size := int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	plat := configPlatform(&cf)
	if p != nil {
		plat = fromV1Platform(p)
	}
	return Variant{Platform: plat, Digest: digest, MediaType: mt, Size: size, Config: cf}, nil
}

// Delete removes ref and garbage-collects content nothing references any
// more (skipped while another process pulls or loads).
func (s *Store) Delete(ref string) error {
	norm, err := NormalizeReference(ref)
	if err != nil {
		return err
	}
	err = s.updateRefs(func(db *refsDB) error {
		if _, ok := db.Refs[norm]; !ok {
			return fmt.Errorf("%w: %s", ErrNotFound, norm)
		}
		delete(db.Refs, norm)
		return nil
	})
	if err != nil {
		return err
	}
	_, err = s.GC()
	if errors.Is(err, errBusy) {
		return nil
	}
	return err
}

package imagestore

import (
	"bytes"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// image returns the stored manifest h as a v1.Image backed by blob files.
func (s *Store) image(h v1.Hash) (v1.Image, error) {
	raw, err := os.ReadFile(s.blobPath(h))
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", h, err)
	}
	return partial.CompressedToImage(&blobImage{s: s, raw: raw, m: m})
}

type blobImage struct {
	s   *Store
	raw []byte
	m   *v1.Manifest
}

func (b *blobImage) RawManifest() ([]byte, error) { return b.raw, nil }

func (b *blobImage) MediaType() (types.MediaType, error) {
	if b.m.MediaType != "" {
		return b.m.MediaType, nil
	}
	return types.OCIManifestSchema1, nil
}

func (b *blobImage) RawConfigFile() ([]byte, error) {
	return os.ReadFile(b.s.blobPath(b.m.Config.Digest))
}

func (b *blobImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h == b.m.Config.Digest {
		return &blobLayer{s: b.s, desc: b.m.Config}, nil
	}
	for _, l := range b.m.Layers {
		if l.Digest == h {
			return &blobLayer{s: b.s, desc: l}, nil
		}
	}
	return nil, fmt.Errorf("blob %s is not part of this image", h)
}

type blobLayer struct {
	s    *Store
	desc v1.Descriptor
}

func (l *blobLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *blobLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *blobLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }
func (l *blobLayer) Compressed() (io.ReadCloser, error) {
	f, err := os.Open(l.s.blobPath(l.desc.Digest))
	if err != nil {
		return nil, fmt.Errorf("layer %s is not stored (non-distributable or incomplete image): %w", l.desc.Digest, err)
	}
	return f, nil
}

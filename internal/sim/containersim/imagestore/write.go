package imagestore

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// blobJob is one blob to copy into the store.
type blobJob struct {
	digest v1.Hash
	size   int64
	open   func() (io.ReadCloser, error) // nil when raw is set
	raw    []byte
}

// top is what a reference will point at after the copy.
type top struct {
	digest    v1.Hash
	mediaType types.MediaType
	size      int64
	// platforms that were copied (for unpack after pull).
	images []platformImage
}

type platformImage struct {
	platform Platform
	digest   v1.Hash
}

// plan lists the blobs of obj (v1.Image or v1.ImageIndex) in write order:
// for each image its layers, config and manifest, and the index manifest
// last, so a manifest is only present once everything it names is.
// want == nil keeps every platform of an index.
func (s *Store) plan(obj any, want *Platform) ([]blobJob, top, error) {
	switch o := obj.(type) {
	case v1.ImageIndex:
		return s.planIndex(o, want)
	case v1.Image:
		jobs, pi, err := s.planImage(o)
		if err != nil {
			return nil, top{}, err
		}
		if want != nil && !want.matches(pi.platform) {
			return nil, top{}, fmt.Errorf("%w: image is %s, not %s", ErrPlatformNotFound, pi.platform, want)
		}
		last := jobs[len(jobs)-1]
		mt, err := o.MediaType()
		if err != nil {
			return nil, top{}, err
		}
		return jobs, top{digest: last.digest, mediaType: mt, size: last.size, images: []platformImage{pi}}, nil
	default:
		return nil, top{}, fmt.Errorf("imagestore: unsupported content %T (want v1.Image or v1.ImageIndex)", obj)
	}
}

func (s *Store) planImage(img v1.Image) ([]blobJob, platformImage, error) {
	var jobs []blobJob
	layers, err := img.Layers()
	if err != nil {
		return nil, platformImage{}, err
	}
	seen := map[v1.Hash]bool{}
	for _, l := range layers {
		mt, err := l.MediaType()
		if err != nil {
			return nil, platformImage{}, err
		}
		if !mt.IsDistributable() {
			continue
		}
		d, err := l.Digest()
		if err != nil {
			return nil, platformImage{}, err
		}
		if seen[d] {
			continue
		}
		seen[d] = true
		size, err := l.Size()
		if err != nil {
			return nil, platformImage{}, err
		}
		jobs = append(jobs, blobJob{digest: d, size: size, open: l.Compressed})
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, platformImage{}, err
	}
	cfgName := m.Config.Digest
	// A config already stored is read locally: re-pulling a tag then costs
	// one manifest request and no blob download.
	rawCfg, err := os.ReadFile(s.blobPath(cfgName))
	if err != nil {
		if rawCfg, err = img.RawConfigFile(); err != nil {
			return nil, platformImage{}, err
		}
	}
	var cf v1.ConfigFile
	if err := json.Unmarshal(rawCfg, &cf); err != nil {
		return nil, platformImage{}, fmt.Errorf("config %s: %w", cfgName, err)
	}
	jobs = append(jobs, blobJob{digest: cfgName, size: int64(len(rawCfg)), raw: rawCfg})
	rawMan, err := img.RawManifest()
	if err != nil {
		return nil, platformImage{}, err
	}
	d, err := img.Digest()
	if err != nil {
		return nil, platformImage{}, err
	}
	jobs = append(jobs, blobJob{digest: d, size: int64(len(rawMan)), raw: rawMan})
	return jobs, platformImage{platform: configPlatform(&cf), digest: d}, nil
}

func (s *Store) planIndex(idx v1.ImageIndex, want *Platform) ([]blobJob, top, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, top{}, err
	}
	var jobs []blobJob
	var images []platformImage
	var available []string
	for _, desc := range im.Manifests {
		switch {
		case desc.MediaType.IsImage():
			p := fromV1Platform(desc.Platform)
			if p.OS == "unknown" { // attestation manifests (buildkit)
				continue
			}
			img, err := idx.Image(desc.Digest)
			if err != nil {
				return nil, top{}, err
			}
			if desc.Platform == nil {
				cf, err := img.ConfigFile()
				if err != nil {
					return nil, top{}, err
				}
				p = configPlatform(cf)
			}
			available = append(available, p.String())
			if want != nil && !want.matches(p) {
				continue
			}
			j, pi, err := s.planImage(img)
			if err != nil {
				return nil, top{}, err
			}
			pi.platform = p
			jobs = append(jobs, j...)
			images = append(images, pi)
		case desc.MediaType.IsIndex():
			if want != nil {
				continue // nested indexes only come along with "all platforms"
			}
			child, err := idx.ImageIndex(desc.Digest)
			if err != nil {
				return nil, top{}, err
			}
			j, t, err := s.planIndex(child, nil)
			if err != nil {
				return nil, top{}, err
			}
			jobs = append(jobs, j...)
			images = append(images, t.images...)
		}
	}
	if want != nil && len(images) == 0 {
		return nil, top{}, fmt.Errorf("%w: %s (available: %v)", ErrPlatformNotFound, want, available)
	}
	raw, err := idx.RawManifest()
	if err != nil {
		return nil, top{}, err
	}
	d, err := idx.Digest()
	if err != nil {
		return nil, top{}, err
	}
	mt, err := idx.MediaType()
	if err != nil {
		return nil, top{}, err
	}
	jobs = append(jobs, blobJob{digest: d, size: int64(len(raw)), raw: raw})
	return jobs, top{digest: d, mediaType: mt, size: int64(len(raw)), images: images}, nil
}

// copyBlobs writes the planned blobs, skipping those already present,
// reporting bytes to p (may be nil). Context cancellation stops between
// blobs and (for remote layers) inside the transfer.
func (s *Store) copyBlobs(ctx context.Context, jobs []blobJob, p *progress) error {
	for _, j := range jobs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.hasBlob(j.digest) {
			p.skip(j.size)
			continue
		}
		if j.raw != nil {
			if err := s.writeBlobBytes(j.digest, j.raw); err != nil {
				return err
			}
			p.done(j.size)
			continue
		}
		rc, err := j.open()
		if err != nil {
			return err
		}
		_, err = s.writeBlob(j.digest, ctxReader{ctx, rc}, p.add)
		rc.Close()
		if err != nil {
			return fmt.Errorf("fetch blob %s: %w", j.digest, err)
		}
		p.blobDone()
	}
	return nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}

// Add stores img (v1.Image or v1.ImageIndex, every platform) under ref.
func (s *Store) Add(obj any, ref string) (Image, error) {
	return s.add(context.Background(), obj, ref, nil, nil)
}

func (s *Store) add(ctx context.Context, obj any, ref string, want *Platform, p *progress) (Image, error) {
	norm, err := NormalizeReference(ref)
	if err != nil {
		return Image{}, err
	}
	release, err := s.useContent()
	if err != nil {
		return Image{}, err
	}
	defer release()
	jobs, t, err := s.plan(obj, want)
	if err != nil {
		return Image{}, err
	}
	p.plan(jobs)
	if err := s.copyBlobs(ctx, jobs, p); err != nil {
		return Image{}, err
	}
	p.finish()
	if err := s.setRef(norm, t); err != nil {
		return Image{}, err
	}
	return s.Get(norm)
}

func (s *Store) setRef(norm string, t top) error {
	now := s.Now().UTC()
	return s.updateRefs(func(db *refsDB) error {
		rec := refRecord{Digest: t.digest.String(), MediaType: t.mediaType, Size: t.size, Created: now}
		if old, ok := db.Refs[norm]; ok && old.Digest == rec.Digest {
			rec.Created = old.Created
		}
		db.Refs[norm] = rec
		return nil
	})
}

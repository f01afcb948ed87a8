package imagestore

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Annotations that name an image inside an OCI layout's index.json.
const (
	refNameAnnotation    = "org.opencontainers.image.ref.name"
	containerdAnnotation = "io.containerd.image.name"
)

// Load stores every named image of an archive and returns them (in archive
// order). Accepted formats:
//   - OCI image layout tar (oci-layout + index.json + blobs/), as written
//     by `container image save`, `docker buildx --output type=oci` or the
//     Go client's keychain-free pull: each index.json entry is named by its
//     io.containerd.image.name or org.opencontainers.image.ref.name
//     annotation (a full reference; entries without one are an error);
//     an entry may be an image or a multi-platform index (all platforms load).
//   - docker-save tar (manifest.json with RepoTags): every RepoTag loads.
func (s *Store) Load(ctx context.Context, archivePath string) ([]Image, error) {
	release, err := s.useContent()
	if err != nil {
		return nil, err
	}
	imgs, err := s.load(ctx, archivePath)
	release()
	if err != nil {
		if _, gcErr := s.GC(); gcErr != nil && !errors.Is(gcErr, errBusy) {
			err = errors.Join(err, gcErr)
		}
		return nil, err
	}
	return imgs, nil
}

type namedContent struct {
	ref string
	obj any
}

func (s *Store) load(ctx context.Context, archivePath string) ([]Image, error) {
	tmp, err := os.MkdirTemp(filepath.Join(s.root, "tmp"), "load-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := extractArchive(archivePath, tmp); err != nil {
		return nil, err
	}
	var named []namedContent
	switch {
	case exists(filepath.Join(tmp, "oci-layout")) && exists(filepath.Join(tmp, "index.json")):
		named, err = ociLayoutContent(tmp)
	case exists(filepath.Join(tmp, "manifest.json")):
		named, err = dockerSaveContent(archivePath, tmp)
	default:
		return nil, fmt.Errorf("%w: %s has neither oci-layout+index.json (OCI image layout) nor manifest.json (docker save)", ErrInvalidArchive, archivePath)
	}
	if err != nil {
		return nil, err
	}
	if len(named) == 0 {
		return nil, fmt.Errorf("%w: %s names no image (no %s annotation / RepoTags)", ErrInvalidArchive, archivePath, refNameAnnotation)
	}
	var out []Image
	for _, n := range named {
		norm, err := NormalizeReference(n.ref)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidArchive, archivePath, err)
		}
		jobs, t, err := s.plan(n.obj, nil)
		if err != nil {
			return nil, fmt.Errorf("load %s from %s: %w", norm, archivePath, err)
		}
		if err := s.copyBlobs(ctx, jobs, nil); err != nil {
			return nil, fmt.Errorf("load %s from %s: %w", norm, archivePath, err)
		}
		if err := s.setRef(norm, t); err != nil {
			return nil, err
		}
		img, err := s.Get(norm)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, nil
}

func ociLayoutContent(dir string) ([]namedContent, error) {
	lp, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArchive, err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("%w: index.json: %w", ErrInvalidArchive, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("%w: index.json: %w", ErrInvalidArchive, err)
	}
	var out []namedContent
	for _, d := range im.Manifests {
		ref := d.Annotations[containerdAnnotation]
		if ref == "" {
			ref = d.Annotations[refNameAnnotation]
		}
		if ref == "" {
			return nil, fmt.Errorf("%w: index.json entry %s has no %s annotation: cannot name the image", ErrInvalidArchive, d.Digest, refNameAnnotation)
		}
		var obj any
		switch {
		case d.MediaType.IsIndex():
			obj, err = idx.ImageIndex(d.Digest)
		case d.MediaType.IsImage():
			obj, err = idx.Image(d.Digest)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidArchive, ref, err)
		}
		out = append(out, namedContent{ref: ref, obj: obj})
	}
	return out, nil
}

type dockerManifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func dockerSaveContent(archivePath, dir string) ([]namedContent, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	var entries []dockerManifestEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("%w: manifest.json: %w", ErrInvalidArchive, err)
	}
	var out []namedContent
	for _, e := range entries {
		for _, rt := range e.RepoTags {
			tag, err := name.NewTag(rt)
			if err != nil {
				return nil, fmt.Errorf("%w: RepoTag %q: %w", ErrInvalidArchive, rt, err)
			}
			img, err := tarball.ImageFromPath(archivePath, &tag)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrInvalidArchive, rt, err)
			}
			out = append(out, namedContent{ref: dockerRepoTag(rt), obj: img})
		}
	}
	return out, nil
}

// dockerRepoTag maps docker's "index.docker.io/..." spelling to docker.io.
func dockerRepoTag(rt string) string {
	if rest, ok := strings.CutPrefix(rt, "index.docker.io/"); ok {
		return "docker.io/" + rest
	}
	return rt
}

// extractArchive unpacks regular files and directories of a tar into dir,
// refusing names that leave it.
func extractArchive(archivePath, dir string) error {
	f, err := os.Open(archivePath)
	if err != nil {
		return fmt.Errorf("image archive: %w", err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalidArchive, archivePath, err)
		}
		rel, err := cleanEntry(hdr.Name)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalidArchive, archivePath, err)
		}
		dst := filepath.Join(dir, rel)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
				return err
			}
			out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

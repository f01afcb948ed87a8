package ociimages

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// RefNameAnnotation names an image in an OCI layout's index.json.
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// Index builds an OCI image index from images keyed by platform
// ("linux/amd64", "linux/arm64/v8"), in sorted key order so the digest is
// stable.
func Index(images map[string]v1.Image) (v1.ImageIndex, error) {
	if len(images) == 0 {
		return nil, fmt.Errorf("ociimages: Index needs at least one image")
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	keys := make([]string, 0, len(images))
	for k := range images {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var adds []mutate.IndexAddendum
	for _, k := range keys {
		p, err := v1.ParsePlatform(k)
		if err != nil || p.OS == "" || p.Architecture == "" {
			return nil, fmt.Errorf("ociimages: Index platform %q: want os/arch[/variant]", k)
		}
		img := images[k]
		mt, err := img.MediaType()
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{MediaType: mt, Platform: p}})
	}
	return mutate.AppendManifests(idx, adds...), nil
}

// BusyboxIndex is a two-platform index of busybox images: linux/<host
// arch> (runnable) and the other of amd64/arm64 (the same binary, labelled
// for platform-selection tests). o applies to both.
func BusyboxIndex(o BusyboxOptions) (v1.ImageIndex, error) {
	host, err := Busybox(o)
	if err != nil {
		return nil, err
	}
	hostCfg, err := host.ConfigFile()
	if err != nil {
		return nil, err
	}
	other := "arm64"
	if hostCfg.Architecture == "arm64" {
		other = "amd64"
	}
	o.Architecture = other
	o.Variant = ""
	if other == "arm64" {
		o.Variant = "v8"
	}
	foreign, err := Busybox(o)
	if err != nil {
		return nil, err
	}
	foreignKey := "linux/" + other
	if o.Variant != "" {
		foreignKey += "/" + o.Variant
	}
	return Index(map[string]v1.Image{"linux/" + hostCfg.Architecture: host, foreignKey: foreign})
}

// WriteOCIArchive writes img (v1.Image or v1.ImageIndex) as an OCI image
// layout tar (oci-layout, index.json naming ref in
// org.opencontainers.image.ref.name, blobs/sha256/...) at path, the format
// `container image load` accepts and `container image save` writes.
func WriteOCIArchive(img any, ref, path string) error {
	tmp, err := os.MkdirTemp("", "ociimages-layout-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	lp, err := layout.Write(tmp, mutate.IndexMediaType(empty.Index, types.OCIImageIndex))
	if err != nil {
		return err
	}
	ann := layout.WithAnnotations(map[string]string{RefNameAnnotation: ref})
	switch o := img.(type) {
	case v1.ImageIndex:
		err = lp.AppendIndex(o, ann)
	case v1.Image:
		err = lp.AppendImage(o, ann)
	default:
		return fmt.Errorf("ociimages: WriteOCIArchive: unsupported %T (want v1.Image or v1.ImageIndex)", img)
	}
	if err != nil {
		return fmt.Errorf("ociimages: write layout: %w", err)
	}
	return tarDir(tmp, path)
}

// WriteDockerArchive writes img as a `docker save` tar (manifest.json,
// config, uncompressed layer tars) tagged ref.
func WriteDockerArchive(img v1.Image, ref, path string) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("ociimages: WriteDockerArchive ref %q: %w", ref, err)
	}
	return tarball.WriteToFile(path, tag, img)
}

// tarDir archives dir's content (sorted, fixed times) into path atomically.
func tarDir(dir, path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".archive-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, dir+string(filepath.Separator)))
		if d.IsDir() {
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: rel + "/", Mode: 0o755, ModTime: Epoch})
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: 0o644, Size: fi.Size(), ModTime: Epoch}); err != nil {
			return err
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("ociimages: write archive %s: %w", path, err)
	}
	return os.Rename(f.Name(), path)
}

package imagestore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Unpack writes the rootfs of ref's variant for platform ("" = host
// platform, linux/<GOARCH>) into dir (which must not exist or be empty) and
// returns the image config. The first Unpack of a manifest applies its
// layers into <root>/rootfs/<manifest hex> (a cache); every Unpack then
// copies that tree (cp -a semantics: modes, owners, times, symlinks,
// hardlinks) so containers never share inodes with the cache.
func (s *Store) Unpack(ref, platform, dir string) (ImageConfig, error) {
	release, err := s.useContent()
	if err != nil {
		return ImageConfig{}, err
	}
	defer release()
	img, err := s.Get(ref)
	if err != nil {
		return ImageConfig{}, err
	}
	v, err := img.Variant(platform)
	if err != nil {
		return ImageConfig{}, err
	}
	cache, err := s.rootfsCache(v.Digest)
	if err != nil {
		return ImageConfig{}, fmt.Errorf("unpack %s (%s): %w", img.Reference, v.Platform, err)
	}
	if err := prepareTarget(dir); err != nil {
		return ImageConfig{}, err
	}
	if err := copyTree(cache, dir); err != nil {
		_ = os.RemoveAll(dir) // no half rootfs for the caller to run
		return ImageConfig{}, fmt.Errorf("unpack %s into %s: %w", img.Reference, dir, err)
	}
	return configOf(v), nil
}

func configOf(v Variant) ImageConfig {
	c := v.Config.Config
	ic := ImageConfig{
		Platform:       v.Platform,
		ManifestDigest: v.Digest,
		Entrypoint:     slices.Clone(c.Entrypoint),
		Cmd:            slices.Clone(c.Cmd),
		Env:            slices.Clone(c.Env),
		WorkingDir:     c.WorkingDir,
		User:           c.User,
		StopSignal:     c.StopSignal,
	}
	for p := range c.ExposedPorts {
		ic.ExposedPorts = append(ic.ExposedPorts, p)
	}
	slices.Sort(ic.ExposedPorts)
	if len(c.Labels) > 0 {
		ic.Labels = make(map[string]string, len(c.Labels))
		for k, val := range c.Labels {
			ic.Labels[k] = val
		}
	}
	return ic
}

func prepareTarget(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.MkdirAll(filepath.Dir(dir), 0o755)
	case err != nil:
		return fmt.Errorf("unpack target %s: %w", dir, err)
	case len(entries) > 0:
		return fmt.Errorf("unpack target %s is not empty", dir)
	}
	return os.Remove(dir) // copyTree recreates it with the rootfs's mode
}

// rootfsCache returns <root>/rootfs/<hex> for a manifest, building it on
// first use. Concurrent builders race harmlessly: each builds in tmp/ and the
// first rename wins.
func (s *Store) rootfsCache(manifestDigest string) (string, error) {
	h, err := v1.NewHash(manifestDigest)
	if err != nil {
		return "", err
	}
	final := filepath.Join(s.root, "rootfs", h.Hex)
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	img, err := s.image(h)
	if err != nil {
		return "", err
	}
	layers, err := img.Layers()
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Join(s.root, "tmp"), "rootfs-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	for i, l := range layers {
		if err := applyLayer(tmp, l); err != nil {
			d, _ := l.Digest()
			return "", fmt.Errorf("layer %d (%s): %w", i+1, d, err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		if _, statErr := os.Stat(final); statErr == nil {
			return final, nil // another process finished first
		}
		return "", err
	}
	return final, nil
}

// ApplyLayers applies layers in order into dir without any cache (for
// tests and tools).
func ApplyLayers(dir string, layers []v1.Layer) error {
	for i, l := range layers {
		if err := applyLayer(dir, l); err != nil {
			return fmt.Errorf("layer %d: %w", i+1, err)
		}
	}
	return nil
}

package containersim

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tartanhq/tartan/internal/sim/containersim/imagestore"
)

// A container's rootfs is, where the kernel allows, an overlay: the image's
// unpacked tree is kept once per manifest under <app-root>/rootfs-cache and
// each container gets an upper/work dir in its bundle, mounted by the
// runtime only while the container runs. Elsewhere the tree is copied into
// the bundle (imagestore.Unpack). Changes persist across restarts either way.

func (e *env) rootfsCache() string { return filepath.Join(e.root, "rootfs-cache") }

// prepareRootfs makes the rootfs of a new container and returns the
// image config; opts.RootfsLower is set in overlay mode.
func (e *env) prepareRootfs(s *imagestore.Store, img imagestore.Image, platform string, opts *simOptions, bundle string) (imagestore.ImageConfig, error) {
	v, err := img.Variant(platform)
	if err != nil {
		return imagestore.ImageConfig{}, err
	}
	if !e.knobSet("CONTAINER_SIM_NO_OVERLAY") && overlaySupported(e.rootfsCache()) {
		lower := filepath.Join(e.rootfsCache(), strings.TrimPrefix(v.Digest, "sha256:"))
		if !fileExists(lower) {
			tmp := fmt.Sprintf("%s.tmp%d", lower, os.Getpid())
			if _, err := s.Unpack(img.Reference, platform, tmp); err != nil {
				os.RemoveAll(tmp)
				return imagestore.ImageConfig{}, err
			}
			if err := os.Rename(tmp, lower); err != nil {
				os.RemoveAll(tmp) // a concurrent create won the race: same content
			}
		}
		for _, d := range []string{"upper", "work", "rootfs"} {
			if err := os.MkdirAll(filepath.Join(bundle, d), 0o755); err != nil {
				return imagestore.ImageConfig{}, err
			}
		}
		opts.RootfsLower = lower
		return imageConfigOf(v), nil
	}
	return s.Unpack(img.Reference, platform, opts.Rootfs)
}

func imageConfigOf(v imagestore.Variant) imagestore.ImageConfig {
	c := v.Config.Config
	return imagestore.ImageConfig{Platform: v.Platform, ManifestDigest: v.Digest, Entrypoint: c.Entrypoint, Cmd: c.Cmd,
		Env: c.Env, WorkingDir: c.WorkingDir, User: c.User, StopSignal: c.StopSignal}
}

// userRoot is where /etc/passwd of a container can be read while it is
// not running (the overlay is mounted only then).
func (o simOptions) userRoot(running bool) string {
	if o.RootfsLower != "" && !running {
		if fileExists(filepath.Join(filepath.Dir(o.Rootfs), "upper", "etc", "passwd")) {
			return filepath.Join(filepath.Dir(o.Rootfs), "upper")
		}
		return o.RootfsLower
	}
	return o.Rootfs
}

// pruneRootfsCache removes unpacked trees no stored image and no container
// uses any more (after `image delete`).
func (e *env) pruneRootfsCache(s *imagestore.Store) int64 {
	ents, err := os.ReadDir(e.rootfsCache())
	if err != nil {
		return 0
	}
	keep := map[string]bool{}
	imgs, err := s.List()
	if err != nil {
		return 0 // unsure what is in use: keep everything
	}
	for _, img := range imgs {
		for _, v := range img.Variants {
			keep[strings.TrimPrefix(v.Digest, "sha256:")] = true
		}
	}
	all, _ := e.loadAll()
	for _, c := range all {
		if c.Opts.RootfsLower != "" {
			keep[filepath.Base(c.Opts.RootfsLower)] = true
		}
	}
	var freed int64
	for _, d := range ents {
		if keep[d.Name()] || strings.Contains(d.Name(), ".") {
			continue // in use, or a probe / an unpack in progress
		}
		p := filepath.Join(e.rootfsCache(), d.Name())
		size := dirSize(p)
		if os.RemoveAll(p) == nil {
			freed += size
		}
	}
	return freed
}

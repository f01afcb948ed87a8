package containersim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

var (
	overlayOnce sync.Once
	overlayOK   bool
)

// overlaySupported probes once per process with a throwaway mount under dir.
func overlaySupported(dir string) bool {
	overlayOnce.Do(func() {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return
		}
		probe, err := os.MkdirTemp(dir, ".probe-")
		if err != nil {
			return
		}
		defer os.RemoveAll(probe)
		for _, d := range []string{"l", "u", "w", "m"} {
			if os.Mkdir(filepath.Join(probe, d), 0o755) != nil {
				return
			}
		}
		m := filepath.Join(probe, "m")
		if unix.Mount("overlay", m, "overlay", 0, overlayData(filepath.Join(probe, "l"), filepath.Join(probe, "u"), filepath.Join(probe, "w"))) != nil {
			return
		}
		overlayOK = unix.Unmount(m, unix.MNT_DETACH) == nil
	})
	return overlayOK
}

func overlayData(lower, upper, work string) string {
	return fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work)
}

// mountRootfs mounts a container's overlay rootfs (no-op in copy mode).
func mountRootfs(c *container) error {
	if c.Opts.RootfsLower == "" {
		return nil
	}
	_ = unmountRootfs(c) // a crashed runtime may have left it
	b := c.Bundle
	if err := unix.Mount("overlay", c.Opts.Rootfs, "overlay", 0,
		overlayData(c.Opts.RootfsLower, filepath.Join(b, "upper"), filepath.Join(b, "work"))); err != nil {
		return fmt.Errorf("mount rootfs overlay: %w", err)
	}
	return nil
}

func unmountRootfs(c *container) error {
	if c.Opts.RootfsLower == "" {
		return nil
	}
	err := unix.Unmount(c.Opts.Rootfs, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return err
	}
	return nil
}

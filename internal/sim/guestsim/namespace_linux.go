//go:build linux

package guestsim

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// Guest mount points. /Volumes and /mnt/shared exist in every guest's
// namespace; shares are bound under the one of the guest's OS.
const (
	volumesDir   = "/Volumes"
	linuxShares  = "/mnt/shared"
	sharedTmpfsO = "mode=0755,size=1m"
	guestTmpDir  = "/tmp"
	guestTmpO    = "mode=1777"
)

// enterGuestFS builds the guest's file system view inside its fresh mount
// namespace and returns cfg rewritten to guest paths: HomeDir becomes
// /Users/<user> (darwin) or /home/<user> (linux), a bind mount of the host
// directory, and /tmp is the guest's own tmpfs, so guest files neither show
// up nor leak on the host.
//
// Order matters: covering /tmp (and /home) hides host paths the guest still
// needs (test TART_HOMEs, share sources, the VM directory all tend to live
// under /tmp). Shares are bound first, and the home, VM and agent-socket
// directories are held open beforehand and reached through /proc/self/fd.
func enterGuestFS(cfg Config) (Config, error) {
	// First, stop propagation: without this, on a shared-root host (systemd)
	// every mount below would appear on the host too.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return cfg, fmt.Errorf("guestsim: making / private in the guest namespace: %w", err)
	}
	// The guest's own /proc: `ps` and /proc/<pid> show guest processes.
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return cfg, fmt.Errorf("guestsim: mounting the guest's /proc: %w", err)
	}
	home, err := holdDir(cfg.HomeDir)
	if err != nil {
		return cfg, fmt.Errorf("guestsim: guest home: %w", err)
	}
	vmDir := ""
	if cfg.VMDir != "" {
		if vmDir, err = holdDir(cfg.VMDir); err != nil {
			return cfg, fmt.Errorf("guestsim: VM directory: %w", err)
		}
	}
	agentSocket := ""
	if cfg.AgentSocket != "" {
		dir, err := holdDir(filepath.Dir(cfg.AgentSocket))
		if err != nil {
			return cfg, fmt.Errorf("guestsim: agent socket directory: %w", err)
		}
		agentSocket = filepath.Join(dir, filepath.Base(cfg.AgentSocket))
	}
	if err := mountShares(cfg); err != nil {
		return cfg, err
	}
	guestHome := GuestHomePath(cfg.OS, cfg.User)
	if err := mountTmpfs(filepath.Dir(guestHome), sharedTmpfsO); err != nil {
		return cfg, err
	}
	if err := bindDir(home, guestHome, false); err != nil {
		return cfg, fmt.Errorf("guestsim: guest home %s: %w", guestHome, err)
	}
	if err := mountTmpfs(guestTmpDir, guestTmpO); err != nil {
		return cfg, err
	}
	cfg.HomeDir, cfg.VMDir, cfg.AgentSocket = guestHome, vmDir, agentSocket
	return cfg, nil
}

// holdDir opens dir for the guest's lifetime (a raw descriptor: no
// finalizer may close it) and returns a path that reaches it even once
// something is mounted over where it lives.
func holdDir(dir string) (string, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return "/proc/self/fd/" + strconv.Itoa(fd), nil
}

// mountTmpfs mounts a fresh tmpfs on dir. The mount point itself must exist
// on the host (it is created empty when missing); its content is the
// guest's own.
func mountTmpfs(dir, opts string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("guestsim: creating mount point %s: %w", dir, err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("guestsim: mounting tmpfs on %s: %w", dir, err)
	}
	return nil
}

// mountShares gives the guest /Volumes and /mnt/shared and binds each share.
func mountShares(cfg Config) error {
	for _, dir := range []string{volumesDir, linuxShares} {
		if err := mountTmpfs(dir, sharedTmpfsO); err != nil {
			return err
		}
	}
	for _, s := range cfg.Shares {
		if err := bindShare(s, GuestSharePath(cfg.OS, s.Name)); err != nil {
			return err
		}
	}
	return nil
}

func bindShare(s Share, target string) error {
	st, err := os.Stat(s.HostPath)
	if err != nil {
		return fmt.Errorf("guestsim: share %q: %w", s.Name, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("guestsim: share %q: %s is not a directory", s.Name, s.HostPath)
	}
	if err := bindDir(filepath.Clean(s.HostPath), target, s.ReadOnly); err != nil {
		return fmt.Errorf("guestsim: share %q: %w", s.Name, err)
	}
	return nil
}

// bindDir bind-mounts src (recursively) on target, created if missing.
func bindDir(src, target string, readOnly bool) error {
	if err := os.MkdirAll(target, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", target, err)
	}
	if err := unix.Mount(src, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind-mounting %s: %w", src, err)
	}
	if readOnly {
		// A bind mount ignores MS_RDONLY at creation; it takes a remount.
		if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("making it read-only: %w", err)
		}
	}
	return nil
}

//go:build linux

package guestsim

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// spawnAttrs: own process group (a Ctrl-C to tart run's group does not hit
// the guest directly: tart run stops it), a signal when the parent dies, and
// private PID and mount namespaces when we may have them.
func spawnAttrs() (*syscall.SysProcAttr, bool, error) {
	a := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() != 0 {
		// No PID namespace to take everything down: the guest gets a
		// catchable SIGTERM instead, so it can kill its commands' process
		// groups before exiting.
		a.Pdeathsig = syscall.SIGTERM
		return a, false, nil
	}
	// A PID namespace makes "the guest dies with its parent" hold for every
	// process in it: when its init (our child) is killed, the kernel kills
	// them all, daemons and orphans included.
	a.Cloneflags = syscall.CLONE_NEWPID
	a.Unshareflags = syscall.CLONE_NEWNS
	return a, true, nil
}

// Guest mount points. Both exist in every guest's namespace; shares are
// bound under the one of the guest's OS.
const (
	volumesDir   = "/Volumes"
	linuxShares  = "/mnt/shared"
	sharedTmpfsO = "mode=0755,size=1m"
)

// mountShares runs inside the guest's fresh mount namespace.
func mountShares(cfg Config) error {
	// First, stop propagation: without this, on a shared-root host (systemd)
	// every mount below would appear on the host too.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("guestsim: making / private in the guest namespace: %w", err)
	}
	// The guest's own /proc: `ps` and /proc/<pid> show guest processes.
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("guestsim: mounting the guest's /proc: %w", err)
	}
	for _, dir := range []string{volumesDir, linuxShares} {
		// The mount point itself must exist on the host; its content is the
		// guest's own tmpfs.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("guestsim: creating mount point %s: %w", dir, err)
		}
		if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, sharedTmpfsO); err != nil {
			return fmt.Errorf("guestsim: mounting tmpfs on %s: %w", dir, err)
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
	if err := os.MkdirAll(target, 0o755); err != nil {
		return fmt.Errorf("guestsim: share %q: creating %s: %w", s.Name, target, err)
	}
	if err := unix.Mount(filepath.Clean(s.HostPath), target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("guestsim: share %q: bind-mounting %s: %w", s.Name, s.HostPath, err)
	}
	if s.ReadOnly {
		// A bind mount ignores MS_RDONLY at creation; it takes a remount.
		if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("guestsim: share %q: making it read-only: %w", s.Name, err)
		}
	}
	return nil
}

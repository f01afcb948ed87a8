package tartsim

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// home is $TART_HOME (default ~/.tart) and its layout (tart-cli.md §3.1).
type home struct{ root string }

func openHome(e *env) (*home, error) {
	root := e.getenv("TART_HOME")
	if root == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return nil, failf("cannot find the home directory: %v", err)
		}
		root = filepath.Join(h, ".tart")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, runtimeFailf("TART_HOME is invalid: %s does not exist, yet we can't create it: %v", root, err)
	}
	for _, d := range []string{abs, filepath.Join(abs, "vms"), filepath.Join(abs, "cache"), filepath.Join(abs, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, runtimeFailf("TART_HOME is invalid: %s does not exist, yet we can't create it: %v", root, err)
		}
	}
	return &home{root: abs}, nil
}

func (h *home) vmsDir() string     { return filepath.Join(h.root, "vms") }
func (h *home) ociDir() string     { return filepath.Join(h.root, "cache", "OCIs") }
func (h *home) tmpDir() string     { return filepath.Join(h.root, "tmp") }
func (h *home) simDir() string     { return filepath.Join(h.root, "sim") }
func (h *home) leasesPath() string { return filepath.Join(h.simDir(), "dhcpd_leases") }

func (h *home) vm(name string) *vmDir {
	return &vmDir{name: name, path: filepath.Join(h.vmsDir(), name), local: true}
}

// fileLock is a held flock(2).
type fileLock struct{ f *os.File }

func (l *fileLock) unlock() {
	if l != nil && l.f != nil {
		_ = unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
		_ = l.f.Close()
		l.f = nil
	}
}

// flockPath locks path (a file or a directory) exclusively. With wait=false
// it returns (nil, nil) when someone else holds the lock.
func flockPath(path string, wait bool) (*fileLock, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return flockFile(f, wait)
}

// flockFile locks the open file f exclusively; it takes ownership of f (closed
// unless the lock is returned).
func flockFile(f *os.File, wait bool) (*fileLock, error) {
	var err error
	how := unix.LOCK_EX
	if !wait {
		how |= unix.LOCK_NB
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err == unix.EWOULDBLOCK {
		f.Close()
		return nil, nil
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("flock %s: %w", f.Name(), err)
	}
	return &fileLock{f: f}, nil
}

// globalLock is tart's flock on the TART_HOME directory (clone, run).
func (h *home) globalLock() (*fileLock, error) { return flockPath(h.root, true) }

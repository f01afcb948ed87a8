package warm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tartanhq/tartan/tart"
)

// fileLock is an flock(2) on a file under Dir.
type fileLock struct{ f *os.File }

// lockFile takes an exclusive flock on path (created); nil, nil when
// another process holds it and wait is false.
func lockFile(path string, wait bool) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	how := unix.LOCK_EX
	if !wait {
		how |= unix.LOCK_NB
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if errors.Is(err, unix.EWOULDBLOCK) {
		f.Close()
		return nil, nil
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &fileLock{f: f}, nil
}

func (l *fileLock) unlock() { l.f.Close() }

func (m *Manager) buildLockPath(slot string) string {
	return filepath.Join(m.o.Dir, "locks", "build-"+slot+".lock")
}

// failure counts and the not-macOS marker live in small files named by key.
func (m *Manager) markPath(kind string, s Spec) string {
	return filepath.Join(m.o.Dir, "locks", kind+"-"+s.imageID()+"-"+s.Key())
}

func (m *Manager) failures(s Spec) int {
	b, _ := os.ReadFile(m.markPath("failures", s))
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

func (m *Manager) setFailures(s Spec, n int) {
	p := m.markPath("failures", s)
	if n == 0 {
		_ = os.Remove(p)
		return
	}
	_ = os.WriteFile(p, []byte(strconv.Itoa(n)), 0o600)
}

func (m *Manager) disabled(s Spec) bool { return m.failures(s) >= m.o.MaxResumeFailures }

func (m *Manager) notMacOS(s Spec) bool {
	_, err := os.Stat(m.markPath("linux", s))
	return err == nil
}

func (m *Manager) markNotMacOS(s Spec) { _ = os.WriteFile(m.markPath("linux", s), nil, 0o600) }

// deleteVM stops (if running) and deletes a VM; a missing VM is fine.
func (m *Manager) deleteVM(ctx context.Context, name string) error {
	c := m.o.Tart
	info, err := c.Get(ctx, name)
	if errors.Is(err, tart.ErrVMNotFound) {
		return nil
	}
	if err == nil && info.State == tart.StateRunning {
		_ = c.Stop(ctx, name, 5*time.Second)
	}
	err = c.Delete(ctx, name)
	if errors.Is(err, tart.ErrVMNotFound) {
		return nil
	}
	return err
}

// remove deletes a snapshot: metadata first (so it is never used again),
// then the VM.
func (m *Manager) remove(ctx context.Context, name string) error {
	if err := os.Remove(m.metaPath(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return m.deleteVM(ctx, name)
}

// removeBuilds deletes build VMs of slot (the caller holds its build lock).
func (m *Manager) removeBuilds(ctx context.Context, slot string) {
	vms, err := m.o.Tart.List(ctx, tart.ListOptions{Source: "local"})
	if err != nil {
		return
	}
	for _, v := range vms {
		if s, ok := buildSlot(v.Name); ok && s == slot {
			_ = m.deleteVM(ctx, v.Name)
		}
	}
}

// buildSlot parses Prefix+"build-<slot>-<image8>-<key12>".
func buildSlot(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, buildPrefix)
	if !ok {
		return "", false
	}
	parts := strings.Split(rest, "-")
	if len(parts) < 3 {
		return "", false
	}
	return strings.Join(parts[:len(parts)-2], "-"), true
}

// snapshotSlot parses Prefix+"<slot>-<image8>-<key12>".
func snapshotSlot(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, Prefix)
	if !ok || strings.HasPrefix(name, buildPrefix) {
		return "", false
	}
	parts := strings.Split(rest, "-")
	if len(parts) < 3 {
		return "", false
	}
	slot := strings.Join(parts[:len(parts)-2], "-")
	return slot, validSlot(slot) == nil
}

package tartsim

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Entries of $TART_HOME/tmp are in-flight work of some tart command (clone,
// pull, create, set --disk): the command flocks its entry for as long as it
// works in it, and the garbage collection every other command runs first
// deletes only entries it can flock (tart-cli.md §1.5, §4).
//
// Creating an entry and locking it are two steps, and another process's GC
// running between them would delete the fresh entry (tart clone then failed
// with "open tmp/<id>: no such file or directory"). So both steps, and every
// GC, happen under a short flock on the tmp/ directory itself: a GC sees an
// entry either not yet created or already locked. The tmp/ lock is only held
// for create+lock (never while waiting for anything else) and for one GC pass.

// tmpEntry is a tmp/ entry this process created (or, for a resumable pull,
// reopened) and holds locked.
type tmpEntry struct {
	path string
	lock *fileLock
	home *home
}

// tmpLock takes the flock on the tmp/ directory that orders entry creation
// against garbage collection.
func (h *home) tmpLock() (*fileLock, error) { return flockPath(h.tmpDir(), true) }

// newTmpDir creates tmp/<name> as a directory (an existing one is reused:
// partial pulls resume in tmp/<md5>) and returns it locked.
func (h *home) newTmpDir(name string) (*tmpEntry, error) {
	return h.newTmpEntry(name, func(p string) error { return os.MkdirAll(p, 0o755) })
}

// newTmpFile creates tmp/<name> as an empty file and returns it locked.
func (h *home) newTmpFile(name string) (*tmpEntry, error) {
	return h.newTmpEntry(name, func(p string) error {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		return f.Close()
	})
}

func (h *home) newTmpEntry(name string, create func(path string) error) (*tmpEntry, error) {
	p := filepath.Join(h.tmpDir(), name)
	for {
		l, err := h.createLocked(p, create)
		if err != nil {
			return nil, err
		}
		if l != nil {
			return &tmpEntry{path: p, lock: l, home: h}, nil
		}
		// Another live command holds this (resumable) entry: wait for it
		// outside the tmp/ lock, as tart's blocking lock() would, then retry:
		// the holder may have moved or removed it in the meantime.
		bl, err := flockPath(p, true)
		if err != nil && !isNotExist(err) {
			return nil, err
		}
		bl.unlock()
	}
}

// createLocked creates p and flocks it, both under the tmp/ lock. It returns
// (nil, nil) when p already existed and someone else holds it.
func (h *home) createLocked(p string, create func(string) error) (*fileLock, error) {
	tl, err := h.tmpLock()
	if err != nil {
		return nil, err
	}
	defer tl.unlock()
	if err := create(p); err != nil {
		return nil, err
	}
	return flockPath(p, false)
}

// release deletes the entry if it is still in tmp/ (it is not after a
// successful rename into place) and unlocks it. The identity check, under the
// tmp/ lock, keeps it from deleting a newer entry of the same name.
func (t *tmpEntry) release() {
	if t == nil || t.lock == nil {
		return
	}
	if tl, err := t.home.tmpLock(); err == nil {
		if sameFile(t.lock.f, t.path) {
			_ = os.RemoveAll(t.path)
		}
		tl.unlock()
	}
	t.lock.unlock()
	t.lock = nil
}

// unlock unlocks the entry and leaves it in place (a partial pull stays in
// tmp/<md5> to be resumed, unless a GC gets to it first).
func (t *tmpEntry) unlock() {
	if t != nil {
		t.lock.unlock()
		t.lock = nil
	}
}

// sameFile reports whether path still names the file open as f.
func sameFile(f *os.File, path string) bool {
	var a, b unix.Stat_t
	if unix.Fstat(int(f.Fd()), &a) != nil || unix.Stat(path, &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// gcTmp deletes every tmp/ entry nobody holds a lock on (every command
// except pull and clone does this first). Under the tmp/ lock no entry can
// be between its creation and its lock.
func (h *home) gcTmp(e *env) {
	tl, err := h.tmpLock()
	if err != nil {
		fmt.Fprintf(e.stderr, "Failed to perform garbage collection: %v\n", err)
		return
	}
	defer tl.unlock()
	entries, err := os.ReadDir(h.tmpDir())
	if err != nil {
		fmt.Fprintf(e.stderr, "Failed to perform garbage collection: %v\n", err)
		return
	}
	for _, ent := range entries {
		p := filepath.Join(h.tmpDir(), ent.Name())
		l, err := flockPath(p, false)
		if err != nil || l == nil {
			continue
		}
		_ = os.RemoveAll(p)
		l.unlock()
	}
}

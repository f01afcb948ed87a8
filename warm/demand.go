package warm

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
)

// Jobs that wait for a VM slot say so with a demand mark (an flock on
// <Dir>/demand/<random>.lock held while they wait); a build polls Waiting
// through BuildOptions.Preempt and gives its slot up. So a build only ever
// occupies a slot nobody waits for.

// Demand is a held demand mark.
type Demand struct{ l *fileLock }

// Want marks that the caller waits for a slot; Release when it has one (or
// gave up). A crashed waiter's mark vanishes with it.
func (m *Manager) Want() (*Demand, error) {
	dir := filepath.Join(m.o.Dir, "demand")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	p := filepath.Join(dir, hex.EncodeToString(b)+".lock")
	for {
		l, err := lockFile(p, true)
		if err != nil {
			return nil, err
		}
		// Waiting may have removed the file between our create and lock
		// (it looked stale): a lock on an unlinked file is invisible.
		held, err1 := l.f.Stat()
		now, err2 := os.Stat(p)
		if err1 == nil && err2 == nil && os.SameFile(held, now) {
			return &Demand{l: l}, nil
		}
		l.unlock()
	}
}

// Release drops the mark. Idempotent.
func (d *Demand) Release() {
	if d == nil || d.l == nil {
		return
	}
	_ = os.Remove(d.l.f.Name())
	d.l.unlock()
	d.l = nil
}

// Waiting reports whether any process holds a demand mark; stale mark
// files of dead waiters are removed on the way.
func (m *Manager) Waiting() bool {
	dir := filepath.Join(m.o.Dir, "demand")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".lock") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		l, err := lockFile(p, false)
		if err != nil {
			continue
		}
		if l == nil {
			return true
		}
		_ = os.Remove(p)
		l.unlock()
	}
	return false
}

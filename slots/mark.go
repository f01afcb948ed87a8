package slots

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// A mark says that a scheduler hands out this directory's slots (the Nomad
// device plugin does): its users then take only the slot they were given
// (TryAcquireNumber). The mark is a flock on <dir>/scheduler-<name>.lock,
// held while the scheduler runs, so it vanishes with a crashed scheduler.

// Mark is a held scheduler mark.
type Mark struct{ f *os.File }

func (p *Pool) markPath(name string) string {
	return filepath.Join(p.dir, "scheduler-"+name+".lock")
}

// HoldMark takes the mark name. It fails with ErrBusy if another process
// holds it (a second scheduler on the same directory).
func (p *Pool) HoldMark(name string) (*Mark, error) {
	if err := ensureDir(p.dir); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrDir, p.dir, err)
	}
	f, _, err := openLockFile(p.markPath(name))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDir, err)
	}
	ok, err := tryLock(f)
	if err != nil || !ok {
		f.Close()
		if err == nil {
			err = fmt.Errorf("%w: another %s already holds %s", ErrBusy, name, p.markPath(name))
		}
		return nil, err
	}
	return &Mark{f: f}, nil
}

// Release drops the mark. Idempotent.
func (m *Mark) Release() error {
	if m == nil || m.f == nil {
		return nil
	}
	err := m.f.Close()
	m.f = nil
	return err
}

// Marked reports whether some process holds the mark name.
func (p *Pool) Marked(name string) (bool, error) {
	held, _, err := probe(p.markPath(name))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return held, err
}

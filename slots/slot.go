package slots

import (
	"os"
	"sync"
)

// Slot is one held slot. The lock lives as long as any process keeps its
// file open: this process until Release, and any child that inherited File.
type Slot struct {
	kind     Kind
	n        int
	path     string
	writable bool

	mu   sync.Mutex
	f    *os.File // nil once released
	info HolderInfo
}

// Kind is the slot's kind.
func (s *Slot) Kind() Kind { return s.kind }

// Number is n in <kind>-<n>.lock.
func (s *Slot) Number() int { return s.n }

// Info is the holder record as written into the lock file.
func (s *Slot) Info() HolderInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info
}

// File is the locked file, for tart.RunOptions.ExtraFiles (exec.Cmd
// ExtraFiles). The child inherits the lock; the slot is freed when both the
// child (and anything it forked) and this process have let go. nil after
// Release.
func (s *Slot) File() *os.File {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f
}

// SetPID records the process that now owns the slot (the `tart run` PID
// after a handoff), so Holders and BusyError show who really holds it. Call
// it before Release.
func (s *Slot) SetPID(pid int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return ErrReleased
	}
	s.info.PID = pid
	return s.recordLocked()
}

// Release closes this process's copy of the lock file. If no child inherited
// it the slot is free at once. Idempotent.
func (s *Slot) Release() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

func (s *Slot) record() {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.recordLocked() // the record is informative; the lock is what counts
}

func (s *Slot) recordLocked() error {
	if !s.writable {
		return nil
	}
	return writeRecord(s.f, encodeHolder(s.info))
}

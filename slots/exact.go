package slots

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// ErrNoSuchSlot: a slot number outside 1..limit.
var ErrNoSuchSlot = errors.New("slots: no such slot")

// TryAcquireNumber takes exactly slot n of kind (the one a scheduler such
// as the Nomad device plugin handed out) or returns a *BusyError at once.
func (p *Pool) TryAcquireNumber(kind Kind, n int, h Holder) (*Slot, error) {
	if err := p.checkKind(kind); err != nil {
		return nil, err
	}
	if limit := p.limits[kind]; n < 1 || (limit != Unlimited && n > limit) {
		return nil, fmt.Errorf("%w: %s slot %d (this host has %d)", ErrNoSuchSlot, kind, n, limit)
	}
	// Two tries: a concurrent Holders probe can hide a free slot for an
	// instant (see probe).
	for range 2 {
		s, err := p.tryNumber(kind, n, h)
		if s != nil || err != nil {
			return s, err
		}
	}
	holders, _ := p.Holders(kind)
	var mine []HolderInfo
	for _, hi := range holders {
		if hi.Slot == n {
			mine = append(mine, hi)
		}
	}
	return nil, &BusyError{Kind: kind, Limit: p.limits[kind], Dir: p.dir, Holders: mine}
}

func (p *Pool) tryNumber(kind Kind, n int, h Holder) (*Slot, error) {
	path := p.path(kind, n)
	f, writable, err := openLockFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if derr := ensureDir(p.dir); derr == nil {
			f, writable, err = openLockFile(path)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v; pick a writable directory or fix its permissions", ErrDir, err)
	}
	ok, err := tryLock(f)
	if err != nil || !ok {
		f.Close()
		return nil, err
	}
	s := &Slot{kind: kind, n: n, path: path, f: f, writable: writable,
		info: HolderInfo{Slot: n, Path: path, Owner: h.Owner, VM: h.VM, PID: os.Getpid(), Since: time.Now().UTC()}}
	s.record()
	return s, nil
}

package slots

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DirMode is given to a slot directory New creates: world-writable and sticky
// like /tmp, so runners under different users share one set of slots and none
// can delete another's files. Pre-create the directory (e.g. 02770 and a
// shared group) to restrict it; New never changes an existing directory.
const DirMode = os.ModeDir | os.ModeSticky | 0o777

// DefaultDir is the host-wide slot directory. /var/tmp survives reboots on
// macOS and Linux alike but stale files there are harmless: only live flocks
// count.
func DefaultDir() string { return "/var/tmp/tartan-slots" }

// Polling bounds for Acquire: start fast so a freed slot is taken quickly,
// back off so many waiters do not spin.
const (
	pollMin = 5 * time.Millisecond
	pollMax = 250 * time.Millisecond
)

// Pool hands out slots of each Kind from one directory. It is safe for
// concurrent use; every process (and every Pool) using the same directory
// must agree on the limits.
type Pool struct {
	dir    string
	limits map[Kind]int
}

// New validates the limits (missing kinds get DefaultLimits), creates dir if
// needed ("" = DefaultDir()) and checks that slot files can be created in it.
func New(dir string, limits map[Kind]int) (*Pool, error) {
	if dir == "" {
		dir = DefaultDir()
	}
	p := &Pool{dir: dir, limits: DefaultLimits()}
	for k, n := range limits {
		if !k.valid() {
			return nil, fmt.Errorf("%w %q in limits (known: macos, linux)", ErrUnknownKind, k)
		}
		if n < 0 {
			return nil, fmt.Errorf("%w: %s limit %d is negative (use 0 for unlimited)", ErrBadLimit, k, n)
		}
		p.limits[k] = n
	}
	if err := ensureDir(dir); err != nil {
		return nil, fmt.Errorf("%w: %s: %v; pick a writable directory or fix its permissions", ErrDir, dir, err)
	}
	// Creating the files now turns a bad directory into an error at start-up
	// instead of at the first job.
	for _, k := range Kinds() {
		for n := 1; n <= p.limits[k]; n++ {
			f, _, err := openLockFile(p.path(k, n))
			if err != nil {
				return nil, fmt.Errorf("%w: %v; pick a writable directory or fix its permissions", ErrDir, err)
			}
			f.Close()
		}
	}
	return p, nil
}

func ensureDir(dir string) error {
	st, err := os.Stat(dir)
	if err == nil {
		if !st.IsDir() {
			return errors.New("exists and is not a directory")
		}
		return nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.Chmod(dir, DirMode) // MkdirAll's mode is cut by the umask
}

// Dir is the slot directory.
func (p *Pool) Dir() string { return p.dir }

// Limit is the limit for kind (0 = unlimited).
func (p *Pool) Limit(kind Kind) int { return p.limits[kind] }

func (p *Pool) path(kind Kind, n int) string {
	return filepath.Join(p.dir, fmt.Sprintf("%s-%d.lock", kind, n))
}

func (p *Pool) checkKind(kind Kind) error {
	if !kind.valid() {
		return fmt.Errorf("%w %q (known: macos, linux)", ErrUnknownKind, kind)
	}
	return nil
}

// TryAcquire takes a free slot or returns a *BusyError at once.
func (p *Pool) TryAcquire(kind Kind, h Holder) (*Slot, error) {
	if err := p.checkKind(kind); err != nil {
		return nil, err
	}
	// Two passes: a concurrent Holders probe can hide a free slot for an
	// instant (see probe).
	for range 2 {
		s, err := p.tryOnce(kind, h)
		if s != nil || err != nil {
			return s, err
		}
	}
	return nil, p.busy(kind, 0, nil)
}

// Acquire waits for a free slot until ctx ends, then returns a *BusyError
// naming the holders (errors.Is ErrBusy and the context's error). Give ctx a
// deadline: without one Acquire waits until it is cancelled.
func (p *Pool) Acquire(ctx context.Context, kind Kind, h Holder) (*Slot, error) {
	if err := p.checkKind(kind); err != nil {
		return nil, err
	}
	start := time.Now()
	wait := pollMin
	timer := time.NewTimer(wait)
	timer.Stop() // armed per round below; Go 1.23+ timers reset cleanly
	defer timer.Stop()
	for {
		s, err := p.tryOnce(kind, h)
		if s != nil || err != nil {
			return s, err
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil, p.busy(kind, time.Since(start), ctx.Err())
		case <-timer.C:
		}
		wait = min(wait*2, pollMax)
	}
}

// tryOnce walks the slot files once. (nil, nil) means all are busy. With no
// limit it walks until it finds a free or new file: every busy one belongs
// to a live process, so the walk is bounded by the number of holders.
func (p *Pool) tryOnce(kind Kind, h Holder) (*Slot, error) {
	limit := p.limits[kind]
	for n := 1; limit == Unlimited || n <= limit; n++ {
		path := p.path(kind, n)
		f, writable, err := openLockFile(path)
		if errors.Is(err, os.ErrNotExist) {
			// A tmp cleaner removed the directory since New: make it again.
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
			if err != nil {
				return nil, err
			}
			continue
		}
		s := &Slot{kind: kind, n: n, path: path, f: f, writable: writable,
			info: HolderInfo{Slot: n, Path: path, Owner: h.Owner, VM: h.VM, PID: os.Getpid(), Since: time.Now().UTC()}}
		s.record()
		return s, nil
	}
	return nil, nil
}

func (p *Pool) busy(kind Kind, waited time.Duration, cause error) error {
	holders, _ := p.Holders(kind) // best effort: the error is about being busy
	return &BusyError{Kind: kind, Limit: p.limits[kind], Dir: p.dir, Waited: waited, Holders: holders, Cause: cause}
}

// Holders reports every held slot of kind, in slot order. Files beyond the
// current limit are included: a process started with another limit may
// still hold one.
func (p *Pool) Holders(kind Kind) ([]HolderInfo, error) {
	if err := p.checkKind(kind); err != nil {
		return nil, err
	}
	paths, err := filepath.Glob(filepath.Join(p.dir, string(kind)+"-*.lock"))
	if err != nil {
		return nil, err
	}
	var out []HolderInfo
	for _, path := range paths {
		n, ok := slotNumber(kind, path)
		if !ok {
			continue
		}
		held, rec, err := probe(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("%w: %v", ErrDir, err)
		}
		if held {
			info := decodeHolder(rec)
			info.Slot, info.Path = n, path
			out = append(out, info)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Slot < out[j].Slot })
	return out, nil
}

func slotNumber(kind Kind, path string) (int, bool) {
	base := strings.TrimSuffix(filepath.Base(path), ".lock")
	n, err := strconv.Atoi(strings.TrimPrefix(base, string(kind)+"-"))
	return n, err == nil && n > 0
}

package slots

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// lockFileMode lets every user of the host open a slot file for flock and for
// writing its holder record (see docs/slots.md on shared directories).
const lockFileMode = 0o666

// openLockFile opens (creating if needed) a slot file. O_NOFOLLOW and the
// regular-file check stop a planted symlink from making us write elsewhere.
//
// An existing file is opened without O_CREATE: Linux's fs.protected_regular
// refuses O_CREATE opens of another user's file in a sticky world-writable
// directory (even to root), which is exactly how runners of several users
// share the slot directory. A file we still may not write is opened
// read-only: locking works, only our holder record is not written.
func openLockFile(path string) (f *os.File, writable bool, err error) {
	for range 3 { // lost creation races are retried; a third loss is an error
		f, writable, err = openExisting(path)
		if !errors.Is(err, os.ErrNotExist) {
			break
		}
		f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, lockFileMode)
		writable = true
		if !errors.Is(err, os.ErrExist) {
			break
		}
	}
	if err != nil {
		return nil, false, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, false, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, false, fmt.Errorf("%s is not a regular file", path)
	}
	// The umask may have narrowed the mode; only the file's owner may fix it.
	if writable && st.Mode().Perm() != lockFileMode && ownedByMe(st) {
		_ = f.Chmod(lockFileMode) // best effort: locking works regardless
	}
	return f, writable, nil
}

func openExisting(path string) (*os.File, bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOFOLLOW, 0)
	if errors.Is(err, os.ErrPermission) {
		f, err = os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW, 0)
		return f, false, err
	}
	return f, err == nil, err
}

// tryLock takes an exclusive flock without blocking. It reports false when
// another open file description holds the lock.
func tryLock(f *os.File) (bool, error) {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EWOULDBLOCK):
			return false, nil
		default:
			return false, fmt.Errorf("flock %s: %w", f.Name(), err)
		}
	}
}

// probe reports whether a slot file is locked by someone, and if so what its
// holder record says. The probe holds a shared lock for microseconds when the
// slot is free, which can make a concurrent tryLock miss once; Acquire polls
// and TryAcquire makes two passes, so that costs nothing visible.
func probe(path string) (held bool, record []byte, err error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return false, nil, err
	}
	defer f.Close()
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	switch {
	case err == nil:
		return false, nil, nil // closing f drops the shared lock
	case errors.Is(err, unix.EWOULDBLOCK):
		b, rerr := io.ReadAll(io.LimitReader(f, 64<<10))
		return true, b, rerr
	default:
		return false, nil, fmt.Errorf("flock %s: %w", path, err)
	}
}

// writeRecord rewrites the holder record in place: write first, then cut the
// tail, so a concurrent reader never sees an empty file (see decodeHolder).
func writeRecord(f *os.File, b []byte) error {
	if _, err := f.WriteAt(b, 0); err != nil {
		return err
	}
	return f.Truncate(int64(len(b)))
}

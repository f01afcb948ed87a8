package slots

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

func TestNewRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain-file")
	must.NoError(t, os.WriteFile(file, nil, 0o644))

	cases := []struct {
		name   string
		dir    string
		limits map[Kind]int
		err    error
		hint   string
	}{
		{"negative limit", dir, map[Kind]int{KindMacOS: -1}, ErrBadLimit, "use 0 for unlimited"},
		{"unknown kind", dir, map[Kind]int{"windows": 1}, ErrUnknownKind, "known: macos, linux"},
		{"dir is a file", file, nil, ErrDir, "not a directory"},
		{"dir under a file", filepath.Join(file, "slots"), nil, ErrDir, "pick a writable directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := New(c.dir, c.limits)
			must.Nil(t, p)
			must.ErrorIs(t, err, c.err)
			must.StrContains(t, err.Error(), c.hint)
		})
	}
}

func TestNewUnwritableDirAsNonRoot(t *testing.T) {
	if os.Geteuid() == 0 {
		// Root ignores permission bits; the read-only cases above cover the
		// error path through a path that cannot be a directory.
		t.Skip("permission bits do not bind root")
	}
	dir := t.TempDir()
	must.NoError(t, os.Chmod(dir, 0o555))
	t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
	_, err := New(dir, nil)
	must.ErrorIs(t, err, ErrDir)
}

func TestNewCreatesSharedDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "slots")
	p, err := New(dir, nil)
	must.NoError(t, err)
	must.EqOp(t, dir, p.Dir())

	st, err := os.Stat(dir)
	must.NoError(t, err)
	must.EqOp(t, os.FileMode(DirMode), st.Mode()&(os.ModeDir|os.ModeSticky|os.ModePerm))
	for _, name := range []string{"macos-1.lock", "macos-2.lock"} {
		st, err := os.Stat(filepath.Join(dir, name))
		must.NoError(t, err)
		must.EqOp(t, os.FileMode(0o666), st.Mode().Perm(), must.Sprint(name))
	}
	_, err = os.Stat(filepath.Join(dir, "macos-3.lock"))
	must.ErrorIs(t, err, os.ErrNotExist)
}

func TestNewKeepsExistingDirectoryMode(t *testing.T) {
	dir := t.TempDir()
	must.NoError(t, os.Chmod(dir, 0o2770))
	_, err := New(dir, nil)
	must.NoError(t, err)
	st, err := os.Stat(dir)
	must.NoError(t, err)
	must.EqOp(t, os.FileMode(0o770), st.Mode().Perm())
}

func TestTryAcquireUpToLimitThenBusy(t *testing.T) {
	checkNoFDLeak(t)
	p := newPool(t, nil)

	a, err := p.TryAcquire(KindMacOS, Holder{Owner: "job 1", VM: "vm-a"})
	must.NoError(t, err)
	b, err := p.TryAcquire(KindMacOS, Holder{Owner: "job 2", VM: "vm-b"})
	must.NoError(t, err)
	must.SliceContainsAll(t, []int{1, 2}, []int{a.Number(), b.Number()})

	before := time.Now().UTC().Add(-time.Second)
	c, err := p.TryAcquire(KindMacOS, Holder{Owner: "job 3", VM: "vm-c"})
	must.Nil(t, c)
	must.ErrorIs(t, err, ErrBusy)
	var busy *BusyError
	must.True(t, errors.As(err, &busy))
	must.EqOp(t, 2, busy.Limit)
	must.EqOp(t, KindMacOS, busy.Kind)
	must.Len(t, 2, busy.Holders)
	for i, h := range busy.Holders {
		must.EqOp(t, i+1, h.Slot)
		must.EqOp(t, os.Getpid(), h.PID)
		must.True(t, h.Since.After(before), must.Sprint("since is recent"))
	}
	must.EqOp(t, "job 1", busy.Holders[a.Number()-1].Owner)
	must.EqOp(t, "vm-b", busy.Holders[b.Number()-1].VM)
	msg := err.Error()
	for _, want := range []string{"all 2 macos VM slots", `"job 1"`, `"vm-b"`, "raise the limit"} {
		must.StrContains(t, msg, want)
	}

	must.NoError(t, a.Release())
	must.NoError(t, a.Release(), must.Sprint("Release is idempotent"))
	must.Nil(t, a.File())
	must.ErrorIs(t, a.SetPID(1), ErrReleased)

	c, err = p.TryAcquire(KindMacOS, Holder{Owner: "job 3", VM: "vm-c"})
	must.NoError(t, err)
	must.EqOp(t, a.Number(), c.Number(), must.Sprint("the freed slot is reused"))
	hs, err := p.Holders(KindMacOS)
	must.NoError(t, err)
	must.Len(t, 2, hs)
	must.EqOp(t, "vm-c", hs[c.Number()-1].VM)
	must.NoError(t, b.Release())
	must.NoError(t, c.Release())
	hs, err = p.Holders(KindMacOS)
	must.NoError(t, err)
	must.Len(t, 0, hs)
}

func TestPoolsInOneProcessShareTheLimit(t *testing.T) {
	dir := t.TempDir()
	p1, err := New(dir, map[Kind]int{KindMacOS: 1})
	must.NoError(t, err)
	p2, err := New(dir, map[Kind]int{KindMacOS: 1})
	must.NoError(t, err)
	s, err := p1.TryAcquire(KindMacOS, Holder{})
	must.NoError(t, err)
	defer s.Release()
	_, err = p2.TryAcquire(KindMacOS, Holder{})
	must.ErrorIs(t, err, ErrBusy)
}

func TestAcquireGivesUpAtDeadline(t *testing.T) {
	checkNoFDLeak(t)
	p := newPool(t, map[Kind]int{KindMacOS: 1})
	s, err := p.TryAcquire(KindMacOS, Holder{Owner: "first", VM: "vm-1"})
	must.NoError(t, err)
	defer s.Release()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	got, err := p.Acquire(ctx, KindMacOS, Holder{Owner: "second"})
	elapsed := time.Since(start)
	must.Nil(t, got)
	must.ErrorIs(t, err, ErrBusy)
	must.ErrorIs(t, err, context.DeadlineExceeded)
	var busy *BusyError
	must.True(t, errors.As(err, &busy))
	must.Len(t, 1, busy.Holders)
	must.EqOp(t, "first", busy.Holders[0].Owner)
	must.True(t, busy.Waited >= 100*time.Millisecond)
	must.StrContains(t, err.Error(), "waited")
	must.Less(t, 2*time.Second, elapsed, must.Sprint("gives up promptly after the deadline"))
}

func TestAcquireCancelled(t *testing.T) {
	p := newPool(t, map[Kind]int{KindMacOS: 1})
	s, err := p.TryAcquire(KindMacOS, Holder{})
	must.NoError(t, err)
	defer s.Release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = p.Acquire(ctx, KindMacOS, Holder{})
	must.ErrorIs(t, err, ErrBusy)
	must.ErrorIs(t, err, context.Canceled)
}

func TestAcquireTakesAFreeSlotEvenWithExpiredContext(t *testing.T) {
	p := newPool(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, err := p.Acquire(ctx, KindMacOS, Holder{})
	must.NoError(t, err)
	must.NoError(t, s.Release())
}

func TestAcquireWaitsForRelease(t *testing.T) {
	checkNoFDLeak(t)
	p := newPool(t, map[Kind]int{KindMacOS: 1})
	first, err := p.TryAcquire(KindMacOS, Holder{Owner: "first"})
	must.NoError(t, err)

	type result struct {
		s   *Slot
		err error
	}
	done := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		s, err := p.Acquire(ctx, KindMacOS, Holder{Owner: "second"})
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		t.Fatalf("Acquire returned while the only slot was held: %v", r.err)
	default:
	}
	must.NoError(t, first.Release())
	select {
	case r := <-done:
		must.NoError(t, r.err)
		must.EqOp(t, "second", r.s.Info().Owner)
		must.NoError(t, r.s.Release())
	case <-ctx.Done():
		t.Fatal("Acquire did not take the released slot")
	}
}

func TestLinuxUnlimitedByDefault(t *testing.T) {
	checkNoFDLeak(t)
	p := newPool(t, nil)
	must.EqOp(t, Unlimited, p.Limit(KindLinux))
	var held []*Slot
	for i := range 10 {
		s, err := p.TryAcquire(KindLinux, Holder{VM: "linux-vm", Owner: strings.Repeat("x", i)})
		must.NoError(t, err)
		held = append(held, s)
	}
	hs, err := p.Holders(KindLinux)
	must.NoError(t, err)
	must.Len(t, 10, hs)
	for i, h := range hs {
		must.EqOp(t, i+1, h.Slot)
	}
	// Linux holders do not use macOS slots.
	mac, err := p.Holders(KindMacOS)
	must.NoError(t, err)
	must.Len(t, 0, mac)
	for _, s := range held {
		must.NoError(t, s.Release())
	}
}

func TestLinuxLimitConfigurable(t *testing.T) {
	p := newPool(t, map[Kind]int{KindLinux: 1, KindMacOS: Unlimited})
	s, err := p.TryAcquire(KindLinux, Holder{})
	must.NoError(t, err)
	defer s.Release()
	_, err = p.TryAcquire(KindLinux, Holder{})
	must.ErrorIs(t, err, ErrBusy)
	for range 3 {
		m, err := p.TryAcquire(KindMacOS, Holder{})
		must.NoError(t, err)
		defer m.Release()
	}
}

func TestUnknownKindIsRejected(t *testing.T) {
	p := newPool(t, nil)
	_, err := p.TryAcquire("windows", Holder{})
	must.ErrorIs(t, err, ErrUnknownKind)
	_, err = p.Acquire(context.Background(), "", Holder{})
	must.ErrorIs(t, err, ErrUnknownKind)
	_, err = p.Holders("bsd")
	must.ErrorIs(t, err, ErrUnknownKind)
}

func TestHoldersToleratesGarbageRecord(t *testing.T) {
	p := newPool(t, map[Kind]int{KindMacOS: 1})
	s, err := p.TryAcquire(KindMacOS, Holder{Owner: "o"})
	must.NoError(t, err)
	defer s.Release()
	must.NoError(t, writeRecord(s.File(), []byte("not json")))
	hs, err := p.Holders(KindMacOS)
	must.NoError(t, err)
	must.Len(t, 1, hs)
	must.EqOp(t, 1, hs[0].Slot)
	must.StrContains(t, hs[0].String(), "not recorded")
}

func TestPlantedSymlinkIsRefused(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	must.NoError(t, os.WriteFile(victim, []byte("precious"), 0o644))
	must.NoError(t, os.Symlink(victim, filepath.Join(dir, "macos-1.lock")))
	_, err := New(dir, nil)
	must.ErrorIs(t, err, ErrDir)
	b, err := os.ReadFile(victim)
	must.NoError(t, err)
	must.EqOp(t, "precious", string(b))
}

func TestDecodeHolderIgnoresOlderTail(t *testing.T) {
	long := encodeHolder(HolderInfo{Owner: strings.Repeat("o", 50), VM: "old", PID: 1})
	short := encodeHolder(HolderInfo{Owner: "new", VM: "v", PID: 2})
	mixed := append(append([]byte{}, short...), long[len(short):]...)
	h := decodeHolder(mixed)
	must.EqOp(t, "new", h.Owner)
	must.EqOp(t, 2, h.PID)
}

func TestDirectoryRemovedAfterNewIsRecreated(t *testing.T) {
	p := newPool(t, nil)
	must.NoError(t, os.RemoveAll(p.Dir()))
	s, err := p.TryAcquire(KindMacOS, Holder{Owner: "after cleanup"})
	must.NoError(t, err)
	defer s.Release()
	st, err := os.Stat(p.Dir())
	must.NoError(t, err)
	must.EqOp(t, os.FileMode(DirMode), st.Mode()&(os.ModeDir|os.ModeSticky|os.ModePerm))
}

// A slot file we may not write (another user's, created with a narrow
// umask) still locks; only the holder record is not written.
func TestReadOnlySlotFileStillLocks(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("permission bits do not bind root")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "macos-1.lock")
	must.NoError(t, os.WriteFile(path, nil, 0o444))
	p, err := New(dir, map[Kind]int{KindMacOS: 1})
	must.NoError(t, err)
	s, err := p.TryAcquire(KindMacOS, Holder{Owner: "me"})
	must.NoError(t, err)
	defer s.Release()
	_, err = p.TryAcquire(KindMacOS, Holder{})
	must.ErrorIs(t, err, ErrBusy)
	hs, err := p.Holders(KindMacOS)
	must.NoError(t, err)
	must.Len(t, 1, hs)
	must.StrContains(t, hs[0].String(), "not recorded")
}

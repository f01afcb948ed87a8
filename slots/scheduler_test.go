package slots

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

// TestTryAcquireNumberTakesExactlyThatSlot: a scheduler's choice is taken
// as given, busy when someone else holds it, refused when out of range.
func TestTryAcquireNumberTakesExactlyThatSlot(t *testing.T) {
	checkNoFDLeak(t)
	p := newPool(t, nil)
	s2, err := p.TryAcquireNumber(KindMacOS, 2, Holder{Owner: "nomad a", VM: "vm-a"})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Release()
	if s2.Number() != 2 {
		t.Fatalf("got slot %d, want 2", s2.Number())
	}
	_, err = p.TryAcquireNumber(KindMacOS, 2, Holder{Owner: "nomad b"})
	var busy *BusyError
	if !errors.As(err, &busy) || len(busy.Holders) != 1 || busy.Holders[0].Owner != "nomad a" {
		t.Fatalf("second taker of slot 2: %v", err)
	}
	// The other slot is still free for anyone.
	s1, err := p.TryAcquire(KindMacOS, Holder{Owner: "gitlab job 1"})
	if err != nil || s1.Number() != 1 {
		t.Fatalf("TryAcquire: %v", err)
	}
	defer s1.Release()
	for _, n := range []int{0, 3, -1} {
		if _, err := p.TryAcquireNumber(KindMacOS, n, Holder{}); !errors.Is(err, ErrNoSuchSlot) {
			t.Fatalf("slot %d: %v, want ErrNoSuchSlot", n, err)
		}
	}
}

// TestWatchReportsChangesWithinTheInterval: a slot taken and released by
// another holder shows up in the next poll.
func TestWatchReportsChangesWithinTheInterval(t *testing.T) {
	checkNoFDLeak(t)
	p := newPool(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := p.Watch(ctx, KindMacOS, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	next := func(want int) {
		t.Helper()
		select {
		case s := <-ch:
			if s.Err != nil || len(s.Holders) != want {
				t.Fatalf("snapshot %+v, want %d holders", s, want)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("no snapshot with %d holders within 2 s", want)
		}
	}
	next(0)
	s, err := p.TryAcquire(KindMacOS, Holder{Owner: "gitlab job 7", VM: "v"})
	if err != nil {
		t.Fatal(err)
	}
	next(1)
	s.Release()
	next(0)
	cancel()
	for range ch { // closed once ctx ends
	}
}

// TestMarkIsVisibleWhileHeld: the scheduler mark is seen by others while
// held and gone once released; a second holder is refused.
func TestMarkIsVisibleWhileHeld(t *testing.T) {
	checkNoFDLeak(t)
	p := newPool(t, nil)
	if on, err := p.Marked("nomad"); err != nil || on {
		t.Fatalf("marked before anyone held it: %v %v", on, err)
	}
	m, err := p.HoldMark("nomad")
	if err != nil {
		t.Fatal(err)
	}
	if on, err := p.Marked("nomad"); err != nil || !on {
		t.Fatalf("mark not visible: %v %v", on, err)
	}
	if _, err := p.HoldMark("nomad"); !errors.Is(err, ErrBusy) {
		t.Fatalf("second holder: %v, want ErrBusy", err)
	}
	must.NoError(t, m.Release())
	must.NoError(t, m.Release())
	if on, err := p.Marked("nomad"); err != nil || on {
		t.Fatalf("mark still visible after release: %v %v", on, err)
	}
}

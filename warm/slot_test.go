package warm_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tartanhq/tartan/slots"
	"github.com/tartanhq/tartan/warm"
)

func TestBuildInSlotOnlyInAFreeUnwantedSlot(t *testing.T) {
	w := newWorld(t, warm.Options{})
	pool, err := slots.New(t.TempDir(), map[slots.Kind]int{slots.KindMacOS: 2})
	if err != nil {
		t.Fatal(err)
	}
	spec := w.spec()
	ctx := ctxT(t, 2*time.Minute)
	held, err := pool.TryAcquireNumber(slots.KindMacOS, 1, slots.Holder{Owner: "a job"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.m.BuildInSlot(ctx, pool, 1, spec, warm.BuildOptions{}); !errors.Is(err, warm.ErrSlotWanted) {
		t.Fatalf("build in a held slot: %v", err)
	}
	_ = held.Release()
	d, err := w.m.Want()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.m.BuildInSlot(ctx, pool, 1, spec, warm.BuildOptions{}); !errors.Is(err, warm.ErrSlotWanted) {
		t.Fatalf("build while a job waits: %v", err)
	}
	d.Release()
	snap, err := w.m.BuildInSlot(ctx, pool, 1, spec, warm.BuildOptions{})
	if err != nil || snap.Slot != "1" {
		t.Fatalf("build in a free slot: %+v %v", snap, err)
	}
	// The build VM's tart run held the slot and is gone: the slot is free.
	s, err := pool.TryAcquireNumber(slots.KindMacOS, 1, slots.Holder{Owner: "next job"})
	if err != nil {
		t.Fatalf("slot not free after the build: %v", err)
	}
	_ = s.Release()
	// Nothing to do when the slot already has the snapshot.
	if again, err := w.m.BuildInSlot(ctx, pool, 1, spec, warm.BuildOptions{}); err != nil || again.Name != "" {
		t.Fatalf("second build: %+v %v", again, err)
	}
}

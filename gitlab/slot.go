package gitlab

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tartanhq/tartan/slots"
)

// acquireSlot takes a host-wide VM slot, waiting (bounded, with a line in
// the job log) when all are busy.
func (st *Stage) acquireSlot(ctx context.Context, guestOS string) (*slots.Slot, error) {
	s, log := st.Settings, st.Log
	kind, err := slots.KindForOS(guestOS)
	if err != nil {
		return nil, err
	}
	limit := s.MacOSLimit
	if kind == slots.KindLinux {
		limit = s.LinuxLimit
	}
	pool, err := slots.New(s.SlotsDir, map[slots.Kind]int{kind: limit})
	if err != nil {
		return nil, err
	}
	h := slots.Holder{Owner: "gitlab job " + st.Job.ID, VM: st.VM}
	slot, err := pool.TryAcquire(kind, h)
	if err == nil {
		return slot, nil
	}
	if !errors.Is(err, slots.ErrBusy) {
		return nil, err
	}
	var names []string
	if holders, _ := pool.Holders(kind); len(holders) > 0 {
		for _, hi := range holders {
			names = append(names, hi.VM)
		}
	}
	log.Printf("Waiting for a free %s VM slot: all %d are busy (%s); waiting up to %s", kind, limit, strings.Join(names, ", "), round(s.SlotTimeout))
	t := time.Now()
	wctx, cancel := context.WithTimeout(ctx, s.SlotTimeout)
	defer cancel()
	slot, err = pool.Acquire(wctx, kind, h)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("stopped waiting for a VM slot: %w", ctx.Err())
		}
		return nil, fmt.Errorf("%w after %s: %v", ErrSlotTimeout, round(s.SlotTimeout), err)
	}
	log.Printf("Got %s VM slot %d after %s", kind, slot.Number(), since(t))
	return slot, nil
}

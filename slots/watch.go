package slots

import (
	"context"
	"reflect"
	"time"
)

// Watch reports the holders of kind's slots: the current list at once,
// then each time it changes, until ctx ends (the channel is then closed).
// A flock taken or dropped changes no file that a file-system watcher
// could see, so Watch polls every interval (a probe is a few syscalls per
// slot file). A probe error is reported as a nil list with the error.
func (p *Pool) Watch(ctx context.Context, kind Kind, interval time.Duration) (<-chan Snapshot, error) {
	if err := p.checkKind(kind); err != nil {
		return nil, err
	}
	if interval <= 0 {
		interval = time.Second
	}
	ch := make(chan Snapshot, 1)
	go func() {
		defer close(ch)
		t := time.NewTicker(interval)
		defer t.Stop()
		var last *Snapshot
		for {
			hs, err := p.Holders(kind)
			cur := Snapshot{Holders: hs, Err: err}
			if last == nil || !cur.equal(*last) {
				select {
				case ch <- cur:
					last = &cur
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return ch, nil
}

// Snapshot is one observation of Watch.
type Snapshot struct {
	Holders []HolderInfo
	Err     error
}

func (s Snapshot) equal(o Snapshot) bool {
	if (s.Err == nil) != (o.Err == nil) || (s.Err != nil && s.Err.Error() != o.Err.Error()) {
		return false
	}
	return reflect.DeepEqual(s.Holders, o.Holders)
}

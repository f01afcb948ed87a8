package cliproc

import (
	"context"
	"sync"
	"time"
)

// VersionProbeTimeout bounds the shared probe, which does not die with the
// context of whichever caller happened to start it.
const VersionProbeTimeout = 30 * time.Second

// VersionCache runs a CLI's version probe once for all concurrent callers
// and keeps the first successful answer; a failed probe is not cached, so
// the next call tries again. The zero value is ready to use.
type VersionCache[V any] struct {
	mu    sync.Mutex
	v     *V               // detected once (successfully) or Set
	probe *versionProbe[V] // the probe in flight, if any
}

// versionProbe is one shared probe; done is closed when v and err are set.
type versionProbe[V any] struct {
	done chan struct{}
	v    V
	err  error
}

// Get returns the cached version, or waits for the shared probe, starting
// detect if none is in flight. detect runs detached from ctx, bounded by
// VersionProbeTimeout. When ctx ends first, Get returns abandoned(ctx.Err())
// and the probe goes on for the other callers.
func (c *VersionCache[V]) Get(ctx context.Context, detect func(context.Context) (V, error), abandoned func(ctxErr error) error) (V, error) {
	c.mu.Lock()
	if c.v != nil {
		v := *c.v
		c.mu.Unlock()
		return v, nil
	}
	p := c.probe
	if p == nil {
		p = &versionProbe[V]{done: make(chan struct{})}
		c.probe = p
		go c.run(context.WithoutCancel(ctx), p, detect)
	}
	c.mu.Unlock()
	select {
	case <-p.done:
		return p.v, p.err
	case <-ctx.Done():
		var zero V
		return zero, abandoned(ctx.Err())
	}
}

// Set seeds the cache with a version learnt earlier, so no probe runs.
func (c *VersionCache[V]) Set(v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.v = &v
}

func (c *VersionCache[V]) run(ctx context.Context, p *versionProbe[V], detect func(context.Context) (V, error)) {
	ctx, cancel := context.WithTimeout(ctx, VersionProbeTimeout)
	defer cancel()
	p.v, p.err = detect(ctx)
	c.mu.Lock()
	if p.err == nil {
		c.v = &p.v
	}
	c.probe = nil
	c.mu.Unlock()
	close(p.done)
}

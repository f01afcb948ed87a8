package cliproc

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shoenig/test/must"
)

var errGaveUp = errors.New("caller gave up")

func abandoned(ctxErr error) error { return errors.Join(errGaveUp, ctxErr) }

func TestVersionCacheSharesOneProbeAndCaches(t *testing.T) {
	var c VersionCache[string]
	var runs atomic.Int32
	release := make(chan struct{})
	detect := func(context.Context) (string, error) {
		runs.Add(1)
		<-release
		return "1.2.3", nil
	}
	var wg sync.WaitGroup
	got := make([]string, 8)
	for i := range got {
		wg.Go(func() {
			v, err := c.Get(context.Background(), detect, abandoned)
			must.NoError(t, err)
			got[i] = v
		})
	}
	close(release)
	wg.Wait()
	for _, v := range got {
		must.Eq(t, "1.2.3", v)
	}
	v, err := c.Get(context.Background(), detect, abandoned)
	must.NoError(t, err)
	must.Eq(t, "1.2.3", v)
	// Callers that arrive after the probe ended use the cache; the ones that
	// raced in while it ran shared it. Either way far fewer than 9 runs.
	must.Less(t, int32(len(got)+1), runs.Load())
	must.Positive(t, runs.Load())
}

func TestVersionCacheDoesNotCacheFailure(t *testing.T) {
	var c VersionCache[string]
	boom := errors.New("boom")
	_, err := c.Get(context.Background(), func(context.Context) (string, error) { return "", boom }, abandoned)
	must.ErrorIs(t, err, boom)
	v, err := c.Get(context.Background(), func(context.Context) (string, error) { return "2.0.0", nil }, abandoned)
	must.NoError(t, err)
	must.Eq(t, "2.0.0", v)
}

func TestVersionCacheCallerStopsWaitingWhenItsContextEnds(t *testing.T) {
	var c VersionCache[string]
	release := make(chan struct{})
	probeCtxAlive := make(chan error, 1)
	detect := func(ctx context.Context) (string, error) {
		<-release
		probeCtxAlive <- ctx.Err()
		return "3.0.0", nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Get(ctx, detect, abandoned)
	must.ErrorIs(t, err, errGaveUp)
	must.ErrorIs(t, err, context.Canceled)

	// The probe outlives the caller that started it and fills the cache.
	close(release)
	must.NoError(t, <-probeCtxAlive)
	v, err := c.Get(context.Background(), detect, abandoned)
	must.NoError(t, err)
	must.Eq(t, "3.0.0", v)
}

func TestVersionCacheSetSkipsProbe(t *testing.T) {
	var c VersionCache[string]
	c.Set("9.9.9")
	v, err := c.Get(context.Background(), func(context.Context) (string, error) {
		return "", errors.New("probe must not run")
	}, abandoned)
	must.NoError(t, err)
	must.Eq(t, "9.9.9", v)
}

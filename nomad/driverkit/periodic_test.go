package driverkit

import (
	"context"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

func recv[T any](t *testing.T, ch <-chan T) (T, bool) {
	t.Helper()
	select {
	case v, ok := <-ch:
		return v, ok
	case <-time.After(10 * time.Second):
		t.Fatal("nothing received within 10s")
		var zero T
		return zero, false
	}
}

// The first value comes at once, values without ok are skipped, and the
// channel closes when stop closes.
func TestPeriodicSkipsAndStops(t *testing.T) {
	stop := make(chan struct{})
	n := 0
	ch := Periodic(context.Background(), time.Millisecond, stop, stop, func() (int, bool) {
		n++
		return n, n%2 == 0
	})
	v, ok := recv(t, ch)
	must.True(t, ok)
	must.Eq(t, 2, v)
	v, _ = recv(t, ch)
	must.Eq(t, 4, v)
	close(stop)
	for ok { // at most one value already produced may still arrive
		_, ok = recv(t, ch)
	}
}

func TestPeriodicFirstValueAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	ch := Periodic(ctx, time.Hour, nil, nil, func() (string, bool) { return "now", true })
	v, ok := recv(t, ch)
	must.True(t, ok)
	must.Eq(t, "now", v)
	must.Less(t, time.Minute, time.Since(start))
	cancel()
	_, ok = recv(t, ch)
	must.False(t, ok)
}

// With a nil sendStop, a value produced before stop closed still reaches
// its reader; only ctx drops it.
func TestPeriodicDeliversPendingValueAfterStop(t *testing.T) {
	stop := make(chan struct{})
	produced := make(chan struct{})
	ch := Periodic(context.Background(), time.Hour, stop, nil, func() (string, bool) {
		close(produced)
		return "last sample", true
	})
	<-produced
	close(stop)
	v, ok := recv(t, ch)
	must.True(t, ok)
	must.Eq(t, "last sample", v)
	_, ok = recv(t, ch)
	must.False(t, ok)
}

// With sendStop set, a value nobody reads is dropped when it closes.
func TestPeriodicSendStopDropsUnreadValue(t *testing.T) {
	stop := make(chan struct{})
	produced := make(chan struct{})
	ch := Periodic(context.Background(), time.Hour, stop, stop, func() (string, bool) {
		close(produced)
		return "unread", true
	})
	<-produced
	close(stop)
	// The goroutine may pick either ready case; poll until the channel
	// closes, taking at most the one pending value.
	got := 0
	for {
		_, ok := recv(t, ch)
		if !ok {
			break
		}
		got++
	}
	must.LessEq(t, 1, got)
}

func TestWaitResult(t *testing.T) {
	done := make(chan struct{})
	ch := WaitResult(context.Background(), nil, done, func() int { return 7 })
	close(done)
	v, ok := recv(t, ch)
	must.True(t, ok)
	must.Eq(t, 7, v)
	_, ok = recv(t, ch)
	must.False(t, ok)
}

func TestWaitResultEndsWithoutValue(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := WaitResult(ctx, nil, make(chan struct{}), func() int { return 1 })
	cancel()
	_, ok := recv(t, ch)
	must.False(t, ok)

	plugin := make(chan struct{})
	ch = WaitResult(context.Background(), plugin, make(chan struct{}), func() int { return 1 })
	close(plugin)
	_, ok = recv(t, ch)
	must.False(t, ok)
}

func TestAfterGrace(t *testing.T) {
	must.True(t, AfterGrace(context.Background(), time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	must.False(t, AfterGrace(ctx, time.Hour))
	must.Less(t, time.Minute, time.Since(start))
}

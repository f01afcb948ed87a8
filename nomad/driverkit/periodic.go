package driverkit

import (
	"context"
	"time"
)

// Periodic calls next at once and then every period, and sends each value
// it returns with ok to the channel, which closes when the loop ends. The
// loop ends when ctx ends or stop closes while it waits for the next tick;
// while a value waits for its reader only ctx and sendStop end it (a nil
// sendStop: only ctx, so a last value is not lost when stop closes).
func Periodic[T any](ctx context.Context, period time.Duration, stop, sendStop <-chan struct{}, next func() (T, bool)) <-chan T {
	ch := make(chan T)
	go func() {
		defer close(ch)
		t := time.NewTimer(0)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-stop:
				return
			case <-t.C:
				t.Reset(period)
			}
			v, ok := next()
			if !ok {
				continue
			}
			select {
			case ch <- v:
			case <-ctx.Done():
				return
			case <-sendStop:
				return
			}
		}
	}()
	return ch
}

// WaitResult is WaitTask's channel: it gets result() once done closes, or
// closes without a value when ctx or the plugin (pluginDone) ends first.
func WaitResult[T any](ctx context.Context, pluginDone, done <-chan struct{}, result func() T) <-chan T {
	ch := make(chan T, 1)
	go func() {
		defer close(ch)
		select {
		case <-done:
			ch <- result()
		case <-ctx.Done():
		case <-pluginDone:
		}
	}()
	return ch
}

// AfterGrace waits out grace and reports true, or false when ctx ends first
// (the plugin shut down before the leftover sweep was due).
func AfterGrace(ctx context.Context, grace time.Duration) bool {
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

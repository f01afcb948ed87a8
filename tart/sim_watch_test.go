package tart

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A Watch context ends as soon as tart run exits, with the run's classified
// exit as its cause: the VM limit reported after the lock was taken is
// ErrVMLimit, a stopped VM is a plain failure.
func TestSimWatchEndsWithTheRunsExit(t *testing.T) {
	c, _ := sim(t)
	mustClone(t, c, macosImage, "mac-1")
	mustClone(t, c, "mac-1", "mac-2")
	mustClone(t, c, "mac-1", "mac-3")
	mustRun(t, c, "mac-1", RunOptions{})
	mustRun(t, c, "mac-2", RunOptions{})

	// Without the settle, Run may return before tart reports the limit.
	h, err := c.Run(ctxT(t, time.Minute), "mac-3", RunOptions{NoGraphics: true, StartSettle: -1})
	if err != nil {
		assertKind(t, err, ErrVMLimit)
	} else {
		if got := watchCause(t, h); !errors.Is(got, ErrRunExited) || !errors.Is(got, ErrVMLimit) {
			t.Fatalf("watch cause %v, want ErrRunExited and ErrVMLimit", got)
		}
		if err := h.ExitError(); !errors.Is(err, ErrVMLimit) {
			t.Fatalf("exit error %v, want ErrVMLimit", err)
		}
	}

	mustClone(t, c, ubuntuImage, "lin")
	lin := mustRun(t, c, "lin", RunOptions{})
	if err := lin.ExitError(); err != nil {
		t.Fatalf("exit error of a running VM: %v", err)
	}
	parent, stopParent := context.WithCancel(context.Background())
	ctx, cancel := lin.Watch(parent)
	defer cancel()
	stopParent()
	<-ctx.Done()
	if errors.Is(context.Cause(ctx), ErrRunExited) {
		t.Fatalf("parent cancel reported as a run exit: %v", context.Cause(ctx))
	}
	if err := c.Stop(ctxT(t, 30*time.Second), "lin", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := watchCause(t, lin); !errors.Is(got, ErrRunExited) || !errors.Is(got, ErrFailed) {
		t.Fatalf("watch cause after stop %v, want ErrRunExited and ErrFailed", got)
	}
}

func watchCause(t *testing.T, h *RunHandle) error {
	t.Helper()
	ctx, cancel := h.Watch(context.Background())
	defer cancel()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-time.After(30 * time.Second):
		t.Fatal("Watch context did not end within 30s of tart run exiting")
		return nil
	}
}

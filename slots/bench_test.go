package slots

import (
	"context"
	"testing"
)

// Uncontended TryAcquire+Release of a macOS slot (limit 2).
func BenchmarkTryAcquireRelease(b *testing.B) {
	p, err := New(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s, err := p.TryAcquire(KindMacOS, Holder{Owner: "bench", VM: "vm"})
		if err != nil {
			b.Fatal(err)
		}
		s.Release()
	}
}

// Acquire+Release with a deadline, one slot already held (the second is free).
func BenchmarkAcquireReleaseOneHeld(b *testing.B) {
	p, err := New(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	held, err := p.TryAcquire(KindMacOS, Holder{})
	if err != nil {
		b.Fatal(err)
	}
	defer held.Release()
	ctx := context.Background()
	for b.Loop() {
		s, err := p.Acquire(ctx, KindMacOS, Holder{Owner: "bench", VM: "vm"})
		if err != nil {
			b.Fatal(err)
		}
		s.Release()
	}
}

// Unlimited Linux slots with 8 held: the walk past busy files.
func BenchmarkTryAcquireLinuxEightHeld(b *testing.B) {
	p, err := New(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	for range 8 {
		s, err := p.TryAcquire(KindLinux, Holder{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Release()
	}
	for b.Loop() {
		s, err := p.TryAcquire(KindLinux, Holder{})
		if err != nil {
			b.Fatal(err)
		}
		s.Release()
	}
}

// Holders with both macOS slots held (what a BusyError costs to build).
func BenchmarkHoldersFull(b *testing.B) {
	p, err := New(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	for range 2 {
		s, err := p.TryAcquire(KindMacOS, Holder{Owner: "o", VM: "v"})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Release()
	}
	for b.Loop() {
		if _, err := p.Holders(KindMacOS); err != nil {
			b.Fatal(err)
		}
	}
}

package tart

import (
	"context"
	"testing"
	"time"
)

// Client overhead per tart call (process spawn + parse) against tart-sim.
func BenchmarkSimGet(b *testing.B) {
	c, _ := simForBench(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Get(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// Run until established (running + StartSettle) and Stop, default settle.
func BenchmarkSimRunStop(b *testing.B) {
	c, _ := simForBench(b)
	ctx := context.Background()
	for b.Loop() {
		h, err := c.Run(ctx, "bench", RunOptions{NoGraphics: true})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Stop(ctx, "bench", 5*time.Second); err != nil {
			b.Fatal(err)
		}
		<-h.Done()
	}
}

func BenchmarkParseVMList(b *testing.B) {
	data := fixture(b, "list-2.32.1.json")
	for b.Loop() {
		if _, err := ParseVMList(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRunArgs(b *testing.B) {
	o := RunOptions{NoGraphics: true, Dirs: []Share{{Name: "a", Path: "/a", ReadOnly: true}, {Name: "b", Path: "/b"}},
		Net: Network{SoftnetAllow: []string{"10.0.0.0/8"}, SoftnetExpose: []string{"2222:22"}}}
	for b.Loop() {
		if _, err := RunArgs("vm", o); err != nil {
			b.Fatal(err)
		}
	}
}

func simForBench(b *testing.B) (*Client, string) {
	bin := simBinary(b)
	home := b.TempDir()
	b.Setenv("TMPDIR", b.TempDir())
	c, err := New(Options{Binary: bin, Home: home, NoAutoPrune: true})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Clone(ctx, ubuntuImage, "bench", CloneOptions{}); err != nil {
		b.Fatal(err)
	}
	return c, home
}

package imagestore

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tartanhq/tartan/internal/sim/ociimages"
)

// BenchmarkUnpack measures a container's rootfs preparation: "cold" builds
// the per-manifest cache from the layers and copies it, "cached" only
// copies (every container after the first, or after a pull).
func BenchmarkUnpack(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	img, err := ociimages.SeedImage()
	if err != nil {
		b.Fatal(err)
	}
	stored, err := s.Add(img, "bench")
	if err != nil {
		b.Fatal(err)
	}
	cache := filepath.Join(s.Root(), "rootfs", stored.ID())
	work := b.TempDir()
	run := func(b *testing.B, cold bool) {
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			if cold {
				if err := os.RemoveAll(cache); err != nil {
					b.Fatal(err)
				}
			}
			dir := filepath.Join(work, "c")
			if err := os.RemoveAll(dir); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := s.Unpack("bench", "", dir); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("cold", func(b *testing.B) { run(b, true) })
	b.Run("cached", func(b *testing.B) { run(b, false) })
}

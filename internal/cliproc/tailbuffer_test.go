package cliproc

import (
	"strings"
	"sync"
	"testing"

	"github.com/shoenig/test/must"
)

func TestTailBufferKeepsAllWhenSmall(t *testing.T) {
	b := NewTailBuffer(64)
	for _, w := range []string{"one\n", "two\n"} {
		n, err := b.Write([]byte(w))
		must.NoError(t, err)
		must.Eq(t, len(w), n)
	}
	must.Eq(t, "one\ntwo\n", b.String())
}

func TestTailBufferKeepsHeadAndTail(t *testing.T) {
	b := NewTailBuffer(20)
	for _, w := range []string{"first line\n", "middle middle middle\n", "last line\n"} {
		n, err := b.Write([]byte(w))
		must.NoError(t, err)
		must.Eq(t, len(w), n)
	}
	must.Eq(t, "first line\n...\nlast line\n", b.String())
}

func TestTailBufferConcurrentWritersStayBounded(t *testing.T) {
	b := NewTailBuffer(100)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				_, _ = b.Write([]byte(strings.Repeat("x", 7)))
			}
		})
	}
	wg.Wait()
	must.Eq(t, strings.Repeat("x", 50)+"\n...\n"+strings.Repeat("x", 50), b.String())
}

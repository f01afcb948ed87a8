package taskstore

import (
	"sort"
	"sync"
	"testing"

	"github.com/shoenig/test/must"
)

func TestStore(t *testing.T) {
	s := New[string]()
	_, ok := s.Get("a")
	must.False(t, ok)
	s.Set("a", "one")
	s.Set("b", "two")
	s.Set("a", "uno")
	v, ok := s.Get("a")
	must.True(t, ok)
	must.Eq(t, "uno", v)
	must.Eq(t, 2, s.Len())
	all := s.All()
	sort.Strings(all)
	must.Eq(t, []string{"two", "uno"}, all)
	s.Delete("a")
	s.Delete("missing")
	must.Eq(t, 1, s.Len())
}

func TestStore_Concurrent(t *testing.T) {
	s := New[int]()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				id := string(rune('a' + i))
				s.Set(id, j)
				s.Get(id)
				_ = s.All()
			}
		}(i)
	}
	wg.Wait()
	must.Eq(t, 8, s.Len())
}

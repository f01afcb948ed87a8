package naming

import (
	"strings"
	"testing"

	"github.com/shoenig/test/must"
)

func TestPart(t *testing.T) {
	must.Eq(t, "web", Part("web", 26))
	must.Eq(t, "web-2", Part("web-2", 26))
	// Sanitised names get a hash, so "Web" and "web" stay apart.
	must.NotEq(t, Part("Web", 26), Part("web", 26))
	must.True(t, strings.HasPrefix(Part("Web", 26), "web-"))
	must.True(t, strings.HasPrefix(Part("my_task", 26), "my-task-"))
	// Only unsafe characters: just the hash.
	p := Part("___", 26)
	must.Eq(t, 8, len(p))
	// Long names are cut to the limit, hash included; distinct tails stay apart.
	long := strings.Repeat("a", 60)
	must.Eq(t, 26, len(Part(long, 26)))
	must.NotEq(t, Part(long+"x", 26), Part(long+"y", 26))
	for _, n := range []string{"-lead", "trail-", "a--b", "x" + strings.Repeat("-", 30) + "y"} {
		got := Part(n, 26)
		must.False(t, strings.HasPrefix(got, "-") || strings.HasSuffix(got, "-"), must.Sprint(got))
		must.LessEq(t, 26, len(got))
	}
}

func TestIsAllocID(t *testing.T) {
	must.True(t, IsAllocID("3f2a6c1e-0b7d-4e1a-9c3b-5d6e7f8a9b0c"))
	must.False(t, IsAllocID("3f2a6c1e"))
	must.False(t, IsAllocID("3F2A6C1E-0B7D-4E1A-9C3B-5D6E7F8A9B0C"))
}

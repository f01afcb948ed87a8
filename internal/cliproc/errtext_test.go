package cliproc

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/shoenig/test/must"
)

func TestDescribe(t *testing.T) {
	kind, cause := errors.New("tool failed"), errors.New("context canceled")
	args := []string{"run", "my vm", "", "a$b"}
	must.Eq(t, `tool run "my vm" "" "a$b": boom (exit 2)`, Describe("tool", args, "boom", cause, kind, 2))
	must.Eq(t, "tool run: context canceled", Describe("tool", args[:1], "", cause, kind, -1))
	must.Eq(t, "tool: tool failed (exit 0)", Describe("tool", nil, "", nil, kind, 0))
}

func TestQuoteArg(t *testing.T) {
	for in, want := range map[string]string{
		"plain": "plain", "": `""`, "a b": `"a b"`, "tab\t": `"tab\t"`, `q"`: `"q\""`, "it's": `"it's"`, `back\`: `"back\\"`,
	} {
		must.Eq(t, want, QuoteArg(in))
	}
}

func TestFirstMatchRuleOrderWins(t *testing.T) {
	errA, errB := errors.New("a"), errors.New("b")
	rules := []Rule{NewRule(errA, `^alpha`), NewRule(errB, `beta`)}
	match, line, ok := FirstMatch(rules, []string{"x beta", "alpha two", "alpha one"})
	must.True(t, ok)
	must.Eq(t, errA, match.Kind)
	must.Eq(t, "alpha two", line)

	_, _, ok = FirstMatch(rules, []string{"gamma"})
	must.False(t, ok)
	_, _, ok = FirstMatch(nil, []string{"alpha"})
	must.False(t, ok)
	must.Eq(t, regexp.MustCompile(`beta`).String(), rules[1].Re.String())
}

type ver int

func (v ver) AtLeast(o ver) bool { return v >= o }

func TestGate(t *testing.T) {
	since := map[string]ver{"exec": 5}
	need, known, ok := Gate(since, ver(6), "exec")
	must.Eq(t, ver(5), need)
	must.True(t, known)
	must.True(t, ok)
	_, known, ok = Gate(since, ver(4), "exec")
	must.True(t, known)
	must.False(t, ok)
	_, known, ok = Gate(since, ver(9), "nope")
	must.False(t, known)
	must.False(t, ok)
}

func TestCompareReleases(t *testing.T) {
	for _, tc := range []struct {
		a, b [3]int
		want int
	}{
		{[3]int{1, 2, 3}, [3]int{1, 2, 3}, 0},
		{[3]int{1, 2, 3}, [3]int{1, 2, 4}, -1},
		{[3]int{1, 3, 0}, [3]int{1, 2, 9}, 1},
		{[3]int{0, 9, 9}, [3]int{1, 0, 0}, -1},
		{[3]int{2, 0, 0}, [3]int{1, 99, 99}, 1},
	} {
		must.Eq(t, tc.want, CompareReleases(tc.a, tc.b), must.Sprintf("%v vs %v", tc.a, tc.b))
	}
}

func TestMeaningfulLines(t *testing.T) {
	usage := regexp.MustCompile(`^Usage:`)
	progress := regexp.MustCompile(`^\[\d+/\d+\] `)
	in := "  first  \r\n\n\t\nUsage: tool run\n[1/2] fetching\nError: boom\r\n"
	must.Eq(t, []string{"first", "[1/2] fetching", "Error: boom"}, MeaningfulLines(in, nil, usage))
	must.Eq(t, []string{"first", "Error: boom"}, MeaningfulLines(in, nil, usage, progress))
	must.SliceEmpty(t, MeaningfulLines("\n \r\n", nil))

	lastFrame := func(l string) string { return l[strings.LastIndexByte(l, '\r')+1:] }
	must.Eq(t, []string{"100%", "done"}, MeaningfulLines("10%\r50%\r100%\ndone", lastFrame))
}

package gitlab

import (
	"fmt"
	"strings"
	"time"

	"github.com/dlclark/regexp2"
)

// denyMatchTimeout bounds one match of a denied_images expression: with
// backtracking (lookaround, backreferences) a pathological expression could
// otherwise stall prepare.
const denyMatchTimeout = 250 * time.Millisecond

// pyRegexp is an expression in Python `re` syntax, matched like
// re.search (anywhere in the text). Go's RE2 lacks lookahead, lookbehind and
// backreferences, which the Python driver's users write in
// --exclude-image-expr, so regexp2 (a backtracking engine with .NET syntax)
// runs them after the few Python-only spellings are rewritten.
type pyRegexp struct {
	src string
	re  *regexp2.Regexp
}

func compilePython(expr string) (*pyRegexp, error) {
	re, err := regexp2.Compile(pythonToNET(expr), regexp2.None)
	if err != nil {
		return nil, fmt.Errorf("%q is not a valid Python regular expression: %v", expr, err)
	}
	re.MatchTimeout = denyMatchTimeout
	return &pyRegexp{src: expr, re: re}, nil
}

// MatchString reports whether the expression matches anywhere in s. A match
// that runs out of time counts as a match: the image is refused rather than
// let through unchecked.
func (p *pyRegexp) MatchString(s string) bool {
	ok, err := p.re.MatchString(s)
	return ok || err != nil
}

// pythonToNET rewrites the Python-only spellings into the .NET ones
// regexp2 understands: named groups (?P<name>…), named backreferences
// (?P=name), `\Z` (Python: end of text only = .NET `\z`) and `{,n}`
// (Python: 0 to n). Escapes and character classes are copied as they are.
func pythonToNET(expr string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case c == '\\' && i+1 < len(expr):
			if !inClass && expr[i+1] == 'Z' {
				b.WriteString(`\z`)
			} else {
				b.WriteString(expr[i : i+2])
			}
			i++
			continue
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
			b.WriteByte(c)
			// A ']' right after '[' or '[^' is a literal member.
			if i+1 < len(expr) && expr[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(expr) && expr[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
			continue
		case strings.HasPrefix(expr[i:], "(?P<"):
			b.WriteString("(?<")
			i += len("(?P<") - 1
			continue
		case strings.HasPrefix(expr[i:], "(?P="):
			if end := strings.IndexByte(expr[i:], ')'); end > 0 {
				b.WriteString(`\k<` + expr[i+len("(?P="):i+end] + ">")
				i += end
				continue
			}
		case strings.HasPrefix(expr[i:], "{,"):
			b.WriteString("{0,")
			i++
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

package cliproc

import (
	"regexp"
	"strings"
)

// Rule maps a CLI's message to an error class.
type Rule struct {
	Kind error
	Re   *regexp.Regexp
}

// NewRule compiles pattern (it panics on a bad pattern: rules are
// package-level tables).
func NewRule(kind error, pattern string) Rule {
	return Rule{Kind: kind, Re: regexp.MustCompile(pattern)}
}

// FirstMatch tries rules in order, each against every line: the first rule
// that matches some line wins, with the first line it matches. ok is false
// when no rule matches.
func FirstMatch(rules []Rule, lines []string) (match Rule, line string, ok bool) {
	for _, ru := range rules {
		for _, l := range lines {
			if ru.Re.MatchString(l) {
				return ru, l, true
			}
		}
	}
	return Rule{}, "", false
}

// MeaningfulLines returns the lines of s that can explain a failure: each
// line is first reduced by frame (nil: kept whole), then trimmed of
// surrounding space; blank lines and lines any noise pattern matches are
// dropped.
func MeaningfulLines(s string, frame func(string) string, noise ...*regexp.Regexp) []string {
	var out []string
lines:
	for _, l := range strings.Split(s, "\n") {
		if frame != nil {
			l = frame(l)
		}
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		for _, re := range noise {
			if re.MatchString(l) {
				continue lines
			}
		}
		out = append(out, l)
	}
	return out
}

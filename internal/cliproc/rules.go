package cliproc

import "regexp"

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

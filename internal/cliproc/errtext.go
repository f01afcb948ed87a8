package cliproc

import (
	"fmt"
	"strings"
)

// Describe is the text of a failed command: "<program> <args>: <detail>
// (exit N)", where detail is the explaining stderr line, else the cause,
// else the error class; "(exit N)" only when the child exited normally
// (exitCode >= 0). args should already be redacted.
func Describe(program string, args []string, stderr string, cause, kind error, exitCode int) string {
	var b strings.Builder
	b.WriteString(program)
	for _, a := range args {
		b.WriteByte(' ')
		b.WriteString(QuoteArg(a))
	}
	b.WriteString(": ")
	switch {
	case stderr != "":
		b.WriteString(stderr)
	case cause != nil:
		b.WriteString(cause.Error())
	default:
		b.WriteString(kind.Error())
	}
	if exitCode >= 0 {
		fmt.Fprintf(&b, " (exit %d)", exitCode)
	}
	return b.String()
}

// QuoteArg quotes an argv word when a shell would split or expand it.
func QuoteArg(a string) string {
	if a == "" || strings.ContainsAny(a, " \t\n\"'\\$") {
		return fmt.Sprintf("%q", a)
	}
	return a
}

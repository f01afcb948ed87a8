package tart

import (
	"regexp"
	"strings"

	"github.com/tartanhq/tartan/internal/cliproc"
)

// rule maps tart's messages to an error class. Rules are tried in order;
// the first whose pattern matches a meaningful line wins.
type rule = cliproc.Rule

func r(kind error, pattern string) rule { return cliproc.NewRule(kind, pattern) }

// classifyRules: tart-cli.md §1.4 (RuntimeError texts), §4.1 (VM limit), §7
// (ip), §9 (exec), §11 (registry auth), plus disk-space errors.
var classifyRules = []rule{
	r(ErrVMNotFound, `the specified VM ".*" does not exist`),
	r(ErrVMNotFound, `failed to open lock file .*No such file or directory`), // delete before 2.18.5
	r(ErrAlreadyRunning, `VM ".*" is already running`),
	r(ErrNotRunning, `VM ".*" is not running`),
	r(ErrVMRunning, `VM ".*" is running`),
	r(ErrVMLimit, `(?i)number of VMs exceeds the system limit|maximum supported number of active virtual machines|VZErrorDomain Code=6\b`),
	r(ErrNoIP, `(?i)no IP address found`),
	r(ErrDiskFull, `(?i)no space left on device|not enough disk space|ENOSPC`),
	r(ErrAuth, `(?i)invalid credentials|AuthFailed|authentication|unauthorized|Keychain returned unsuccessful status|code: 40[13]\b|status(?: code)?:? 40[13]\b|\b40[13] (?:Unauthorized|Forbidden)`),
	// Options that do not fit the guest OS are bad input, not a host limit.
	r(ErrUsage, `You can only suspend macOS VMs|macOS virtual machines do not support nested virtualization|can only be used with macOS VMs`),
	r(ErrAgentUnavailable, `(?i)Failed to connect to the VM using its control socket|is the Tart Guest Agent running`),
	r(ErrUnsupported, `(?i)is only available on macOS|is supported on hosts starting with|is available for Mac with the M3|only supported on hosts that have Rosetta|is not supported on this system|Only Linux VMs are supported on Intel|host macOS version is outdated|UnsupportedArchitectureError`),
}

// noiseRe matches stderr lines that never explain a failure.
var noiseRe = regexp.MustCompile(`^(?:Usage:|See 'tart|Help:|OVERVIEW:|USAGE:|OPTIONS:|ARGUMENTS:|SUBCOMMANDS:|Failed to perform garbage collection)`)

// meaningfulLines returns the trimmed non-blank, non-noise lines of s.
func meaningfulLines(s string) []string { return cliproc.MeaningfulLines(s, nil, noiseRe) }

// class is an error class and the tart output line that explains it.
type class struct {
	kind error
	line string
}

// classify picks the error class and the line that explains it from tart's
// exit code and stderr (for `tart run`, its whole log).
func classify(exitCode int, stderr string) class {
	lines := meaningfulLines(stderr)
	if ru, l, ok := cliproc.FirstMatch(classifyRules, lines); ok {
		return class{ru.Kind, l}
	}
	c := class{kind: ErrFailed}
	if len(lines) > 0 {
		c.line = lines[0]
	}
	if exitCode == 64 {
		c.kind = ErrUsage
	}
	return c
}

// Patterns of tart's own `tart exec` failures, by exit code.
var execFailures = map[int][]rule{
	2: {
		r(ErrNotRunning, `^VM ".*" is not running$`),
		r(ErrVMNotFound, `^the specified VM ".*" does not exist$`),
	},
	1: {
		r(ErrAgentUnavailable, `^Failed to connect to the VM using its control socket`),
		r(ErrUnsupported, `^"tart exec" is only available on macOS`),
	},
	64: {
		r(ErrUsage, `^Error: `),
	},
}

// classifyLog is classify for a `tart run` log, where stdout status lines
// and the final error are interleaved: when no rule matches, the last
// meaningful line (tart prints its error as it exits) explains best.
func classifyLog(exitCode int, log string) class {
	c := classify(exitCode, log)
	if last := meaningfulLast(log); c.kind == ErrFailed && last != "" {
		c.line = last
	}
	return c
}

// meaningfulLast is the last meaningful line of s ("" if none).
func meaningfulLast(s string) string {
	lines := meaningfulLines(s)
	if len(lines) == 0 {
		return ""
	}
	return lines[len(lines)-1]
}

// ExecFailure tells tart's own `tart exec` failures from the guest
// command's exit code: for a finished `tart exec` with exit status code and
// captured stderr it returns a classified *Error (ErrNotRunning,
// ErrVMNotFound, ErrAgentUnavailable, ErrUnsupported, ErrUsage), or nil
// when code is the guest command's. For callers of ExecCommand.
func ExecFailure(args []string, code int, stderr string) error {
	cl, ok := execTartFailure(code, stderr)
	if !ok {
		return nil
	}
	return &Error{Kind: cl.kind, Args: RedactArgs(args), ExitCode: code, Stderr: cl.line}
}

// execTartFailure decides whether a non-zero `tart exec` status came from
// tart itself rather than from the guest command (whose exit code tart
// passes through). Only tart's own messages count, so a guest program that
// prints "Error: ..." is not mistaken for a tart failure (for 64 the usage
// footer of `tart exec` must be present too).
func execTartFailure(exitCode int, stderr string) (class, bool) {
	if exitCode == 64 && !strings.Contains(stderr, "tart exec") {
		return class{}, false
	}
	if ru, l, ok := cliproc.FirstMatch(execFailures[exitCode], meaningfulLines(stderr)); ok {
		return class{ru.Kind, l}, true
	}
	return class{}, false
}

package applecontainer

import (
	"regexp"
	"strings"

	"github.com/tartanhq/tartan/internal/cliproc"
)

// rule maps the CLI's error text to a class. Rules are tried in order, the
// first whose pattern matches a meaningful stderr line wins.
type rule = cliproc.Rule

func r(kind error, pattern string) rule { return cliproc.NewRule(kind, pattern) }

// classifyRules: apple-container-cli.md §2.1 (XPC hint), §13 (catalogue),
// §4.3–4.8, §7, §8, §9, plus registry errors of pulls.
var classifyRules = []rule{
	// The apiserver is down: every command says so, possibly inside a cause.
	r(ErrAPIServerDown, `XPC connection error|Ensure container system service has been started`),
	// Not "not found" of a container: the system has no kernel yet.
	r(ErrNoKernel, `default kernel not found`),
	// Registry problems (pull, or run/create fetching a missing image).
	r(ErrAuth, `(?i)\bunauthori[sz]ed\b|authentication required|invalid credentials|\b(?:status|code|HTTP)(?: code)?:? ?40[13]\b|\b40[13] (?:Unauthorized|Forbidden)\b|access (?:to the (?:requested )?resource is )?denied|denied: requested access`),
	r(ErrImageNotFound, `(?i)image not found|manifest unknown|name unknown|failed to delete one or more images|\b(?:status|code|HTTP)(?: code)?:? ?404\b`),
	r(ErrAlreadyExists, `already exists`),
	// Running/not running before not-found: "container <id> is not running".
	r(ErrNotRunning, `is not running|no runtime client exists|container is stopped`),
	r(ErrRunning, `is running and can not be deleted|attach is currently unsupported on already running containers`),
	r(ErrUnsupported, `requires macOS 26 or newer|running under Rosetta Translation|Plugin 'container-network' not found|not supported`),
	r(ErrNotFound, `container not found|container with ID .* not found|get failed: container .* not found|no such container|failed to get logs for container|failed to fetch container logs|network .* not found|notFound:`),
	r(ErrInvalidInput, `is not a valid container ID|invalid entity name|minimum memory amount allowed|invalid label format|invalid publish|invalid signal|path '.*' does not exist|mount source path|command/entrypoint not specified|no command specified for exec|failed to find target executable|conflict with the --all flag|no containers specified|invalidArgument`),
}

var (
	// noiseRe: stderr lines that never explain a failure (usage footer,
	// the XPC hint when the main line is present, progress).
	noiseRe    = regexp.MustCompile(`^(?:Usage:|See 'container|OVERVIEW:|USAGE:|OPTIONS:|ARGUMENTS:|SUBCOMMANDS:|Reclaimed .* in disk space)`)
	progressRe = regexp.MustCompile(`^\[\d+/\d+\] |^\x1b\[`)
)

// meaningfulLines returns the trimmed non-blank, non-noise lines of s.
func meaningfulLines(s string) []string {
	return cliproc.MeaningfulLines(s, lastFrame, noiseRe, progressRe)
}

// lastFrame is what a progress bar redrawn with \r last showed.
func lastFrame(l string) string {
	if i := strings.LastIndexByte(strings.TrimRight(l, "\r"), '\r'); i >= 0 {
		return l[i+1:]
	}
	return l
}

// class is an error class and the CLI's line that explains it.
type class struct {
	kind error
	line string
}

// classify picks the class and explaining line from the CLI's exit code and
// stderr. The explaining line is the first "Error: " line (prefix removed),
// else the first meaningful one.
func classify(exitCode int, stderr string) class {
	lines := meaningfulLines(stderr)
	c := class{kind: ErrFailed}
	for _, l := range lines {
		if strings.HasPrefix(l, "Error: ") {
			c.line = strings.TrimPrefix(l, "Error: ")
			break
		}
	}
	if c.line == "" && len(lines) > 0 {
		c.line = lines[0]
	}
	if ru, _, ok := cliproc.FirstMatch(classifyRules, lines); ok {
		c.kind = ru.Kind
		return c
	}
	if exitCode == 64 {
		c.kind = ErrUsage
	}
	return c
}

// cliFailure reports whether a non-zero status of an attached command (run,
// start --attach, exec) came from the CLI rather than from the container
// process, whose exit status the CLI passes through. Only an "Error: " line
// that a rule recognises counts (exit 64: the usage footer must be there),
// so a program printing "Error: ..." itself is not mistaken for the CLI.
func cliFailure(exitCode int, stderr string) (class, bool) {
	switch exitCode {
	case 1:
	case 64:
		if !strings.Contains(stderr, "Usage: container") && !strings.Contains(stderr, "See 'container") {
			return class{}, false
		}
		c := classify(exitCode, stderr)
		if c.kind == ErrFailed {
			c.kind = ErrUsage
		}
		return c, true
	default:
		return class{}, false
	}
	c := classify(exitCode, stderr)
	if c.kind == ErrFailed {
		return class{}, false
	}
	for _, l := range meaningfulLines(stderr) {
		if strings.HasPrefix(l, "Error: ") {
			return c, true
		}
	}
	return class{}, false
}

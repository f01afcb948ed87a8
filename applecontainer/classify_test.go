package applecontainer

import (
	"errors"
	"testing"

	"github.com/shoenig/test/must"
)

// TestClassifyCatalogue: every message of §13 (and §4, §7, §8) maps to its
// class, and Stderr is the explaining line without "Error: ".
func TestClassifyCatalogue(t *testing.T) {
	const hint = "\nEnsure container system service has been started with `container system start`.\n"
	cases := []struct {
		name   string
		code   int
		stderr string
		kind   error
		line   string
	}{
		{"xpc ping", 1, `Error: interrupted: "XPC connection error: Connection invalid"` + hint, ErrAPIServerDown, `interrupted: "XPC connection error: Connection invalid"`},
		{"xpc list", 1, `Error: internalError: "failed to list containers" (cause: "interrupted: "XPC connection error: Connection invalid"")` + hint, ErrAPIServerDown, `internalError: "failed to list containers" (cause: "interrupted: "XPC connection error: Connection invalid"")`},
		{"exists run", 1, "Error: container with id web already exists\n", ErrAlreadyExists, "container with id web already exists"},
		{"exists create", 1, "Error: container already exists: web\n", ErrAlreadyExists, "container already exists: web"},
		{"bad id", 1, "Error: container ID -x is not a valid container ID\n", ErrInvalidInput, "container ID -x is not a valid container ID"},
		{"bad id pre1", 1, "Error: invalid entity name -x\n", ErrInvalidInput, "invalid entity name -x"},
		{"memory", 1, "Error: minimum memory amount allowed is 200 MiB (got 134217728 bytes)\n", ErrInvalidInput, "minimum memory amount allowed is 200 MiB (got 134217728 bytes)"},
		{"macos15 network", 1, "Error: non-default network configuration requires macOS 26 or newer\n", ErrUnsupported, "non-default network configuration requires macOS 26 or newer"},
		{"unknown network", 1, "Error: network backend not found\n", ErrNotFound, "network backend not found"},
		{"inspect missing", 1, "Error: container not found: a, b\n", ErrNotFound, "container not found: a, b"},
		{"stop unknown", 1, `Error: internalError: "failed to stop container" (cause: "notFound: "container with ID x not found"")`, ErrNotFound, `internalError: "failed to stop container" (cause: "notFound: "container with ID x not found"")`},
		{"kill unknown", 1, `Error: internalError: "failed to kill container" (cause: "notFound: "container with ID x not found"")`, ErrNotFound, ""},
		{"delete unknown", 1, `Error: internalError: "failed to delete container" (cause: "notFound: "container with ID x not found"")`, ErrNotFound, ""},
		{"kill stopped", 1, `Error: internalError: "failed to kill container" (cause: "invalidState: "no runtime client exists: container is stopped"")`, ErrNotRunning, ""},
		{"delete running", 1, `Error: internalError: "failed to delete container" (cause: "invalidState: "container web is running and can not be deleted"")`, ErrRunning, ""},
		{"attach running", 1, "Error: attach is currently unsupported on already running containers\n", ErrRunning, ""},
		{"exec stopped", 1, "Error: container web is not running\n", ErrNotRunning, "container web is not running"},
		{"exec unknown", 1, "Error: get failed: container web not found\n", ErrNotFound, ""},
		{"stats unknown", 1, "Error: no such container: web\n", ErrNotFound, ""},
		{"logs unknown", 1, `Error: failed to get logs for container web (cause: "internalError: "failed to open container logs: no such file"")`, ErrNotFound, ""},
		{"logs unknown pre1", 1, "Error: failed to fetch container logs for web: boom\n", ErrNotFound, ""},
		{"signal", 1, `Error: invalidArgument: "invalid signal: FOO"`, ErrInvalidInput, ""},
		{"bind path", 1, "Error: path '/nope' does not exist\n", ErrInvalidInput, ""},
		{"publish", 1, "Error: invalid publish value: 1:2:3:4\n", ErrInvalidInput, ""},
		{"no command", 1, "Error: command/entrypoint not specified for container process\n", ErrInvalidInput, ""},
		{"missing exe", 1, `Error: internalError: "failed to start" (cause: "failed to find target executable /nope")`, ErrInvalidInput, ""},
		{"unknown option", 64, "Error: Unknown option '--hostname'\nUsage: container run [<options>] <image> [<arguments> ...]\n  See 'container run --help' for more information.\n", ErrUsage, "Unknown option '--hostname'"},
		{"missing arg", 64, "Error: Missing expected argument '<image>'\nUsage: container run\n", ErrUsage, "Missing expected argument '<image>'"},
		{"no ids", 1, "Error: no containers specified and --all not supplied\n", ErrInvalidInput, ""},
		{"rosetta guard", 64, "Error: `container` is currently running under Rosetta Translation, which could be caused by your terminal application. Please ensure this is turned off.\n", ErrUnsupported, ""},
		{"network plugin macos15", 64, "Error: Plugin 'container-network' not found.\n", ErrUnsupported, ""},
		{"image inspect missing", 1, "Error: image not found: docker.io/library/nope:latest\n", ErrImageNotFound, ""},
		{"image delete missing", 1, "Error: failed to delete one or more images: [\"x\"]\n", ErrImageNotFound, ""},
		{"pull 401", 1, "Error: internalError: \"failed to pull image\" (cause: \"unauthorized: authentication required\")\n", ErrAuth, ""},
		{"pull status 403", 1, "Error: HTTP status code: 403\n", ErrAuth, ""},
		{"pull manifest unknown", 1, "Error: notFound: \"manifest unknown\"\n", ErrImageNotFound, ""},
		{"pull 404", 1, "Error: failed to fetch: status code 404\n", ErrImageNotFound, ""},
		{"progress dropped", 1, "[1/6] Fetching image 45% (3 of 7 blobs) [2s]\n\x1b[2K\rError: container with id a1 already exists\n", ErrAlreadyExists, "container with id a1 already exists"},
		{"no kernel", 1, `Error: notFound: "default kernel not found at /k/default.kernel-arm64" (cause: "run container system kernel set --recommended")`, ErrNoKernel, ""},
		{"unknown text", 1, "Error: something odd\n", ErrFailed, "something odd"},
		{"unknown text 64", 64, "Error: odd\nUsage: container x\n", ErrUsage, "odd"},
		{"empty", 1, "", ErrFailed, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := classify(tc.code, tc.stderr)
			must.Eq(t, tc.kind, c.kind, must.Sprintf("got %v", c.kind))
			if tc.line != "" {
				must.Eq(t, tc.line, c.line)
			}
		})
	}
}

func TestErrorMessages(t *testing.T) {
	e := &Error{Kind: ErrAPIServerDown, Args: []string{"list", "--all"}, ExitCode: 1, Stderr: `interrupted: "XPC connection error: Connection invalid"`}
	must.StrContains(t, e.Error(), "run `container system start`")
	must.ErrorIs(t, e, ErrAPIServerDown)

	nf := &Error{Kind: ErrImageNotFound, ExitCode: 1}
	must.ErrorIs(t, nf, ErrImageNotFound)
	must.ErrorIs(t, nf, ErrNotFound)
	must.False(t, errors.Is(&Error{Kind: ErrNotFound}, ErrImageNotFound))
}

// TestExecFailure: the CLI's own failures are told apart from the process
// exit code, and a program printing "Error: ..." is not mistaken for one.
func TestExecFailure(t *testing.T) {
	args := []string{"exec", "web", "sh"}
	for _, tc := range []struct {
		code   int
		stderr string
		kind   error // nil: the process's exit code
	}{
		{1, "Error: container web is not running\n", ErrNotRunning},
		{1, "Error: get failed: container web not found\n", ErrNotFound},
		{1, `Error: interrupted: "XPC connection error: Connection invalid"` + "\n", ErrAPIServerDown},
		{64, "Error: Unknown option '--x'\nUsage: container exec\n", ErrUsage},
		{64, "usage: myprog [-x]\n", nil},
		{1, "Error: file not found\n", nil},
		{1, "", nil},
		{2, "Error: container web is not running\n", nil},
		{137, "", nil},
	} {
		err := ExecFailure(args, tc.code, tc.stderr)
		if tc.kind == nil {
			must.NoError(t, err, must.Sprintf("code %d %q", tc.code, tc.stderr))
			continue
		}
		must.ErrorIs(t, err, tc.kind)
	}
}

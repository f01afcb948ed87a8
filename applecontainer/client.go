package applecontainer

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"

	"github.com/tartanhq/tartan/internal/cliproc"
)

// fallbackPaths are searched after $PATH: a Nomad client started by launchd
// has a bare PATH. /usr/local/bin is where the signed .pkg installs.
var fallbackPaths = []string{"/usr/local/bin/container", "/opt/homebrew/bin/container"}

// Options configure a Client.
type Options struct {
	// Binary is the container CLI. "" = "container" on $PATH, then
	// /usr/local/bin/container, /opt/homebrew/bin/container.
	Binary string
	// Env is extra KEY=VALUE for every child, appended to os.Environ()
	// (e.g. CONTAINER_APP_ROOT). Registry credentials do not belong here.
	Env []string
}

// Client runs one container binary. It is safe for concurrent use.
type Client struct {
	binary string
	opts   Options

	versions cliproc.VersionCache[Version] // `container --version`, probed once
}

// New finds the container binary and validates o. It does not run the CLI.
func New(o Options) (*Client, error) {
	bin, err := findBinary(o.Binary)
	if err != nil {
		return nil, err
	}
	for _, kv := range o.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, inputf("Options.Env", "entry %q is not KEY=VALUE", redactEnv(kv))
		}
	}
	return &Client{binary: bin, opts: o}, nil
}

func findBinary(explicit string) (string, error) {
	p, lerr := cliproc.FindBinary(explicit, "container", fallbackPaths)
	if lerr != nil {
		return "", &BinaryNotFoundError{Searched: lerr.Searched, Reason: lerr.Reason}
	}
	return p, nil
}

// Binary is the path of the container binary this client runs.
func (c *Client) Binary() string { return c.binary }

// environ is the child's environment: ours plus Options.Env (later entries
// win for the CLI, which reads the process environment).
func (c *Client) environ() []string {
	env := os.Environ()
	return append(env[:len(env):len(env)], c.opts.Env...)
}

// newCmd prepares an unstarted child in its own process group, not bound to
// any context (for the long-lived attached commands handed to callers).
func (c *Client) newCmd(args []string) *exec.Cmd {
	cmd := exec.Command(c.binary, args...)
	cmd.Env = c.environ()
	cliproc.SetProcessGroup(cmd)
	return cmd
}

// command prepares an unstarted child in its own process group whose
// cancellation kills the whole group, with a bounded wait for its pipes.
func (c *Client) command(ctx context.Context, args []string) *exec.Cmd {
	return cliproc.Command(ctx, c.binary, args, c.environ())
}

// call is one short-lived CLI invocation.
type call struct {
	args           []string
	stdout, stderr interface{ Write([]byte) (int, error) } // optional extra sinks (Exec)
}

// result of a finished call.
type result struct {
	stdout   []byte
	stderr   string
	exitCode int
}

// run executes args and returns the output, or a classified *Error.
func (c *Client) run(ctx context.Context, args []string) (result, error) {
	res, runErr, startErr := c.exec(ctx, call{args: args})
	if startErr != nil {
		return res, startErr
	}
	if runErr != nil {
		return res, c.failure(ctx, args, res.exitCode, res.stderr, runErr)
	}
	return res, nil
}

// exec runs a call; runErr is Wait's error (non-zero exit included),
// startErr an already classified failure to start.
func (c *Client) exec(ctx context.Context, cl call) (res result, runErr, startErr error) {
	cmd := c.command(ctx, cl.args)
	var stdout bytes.Buffer
	stderr := cliproc.NewTailBuffer(64 << 10)
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if cl.stdout != nil {
		cmd.Stdout = cl.stdout
	}
	if cl.stderr != nil {
		cmd.Stderr = teeWriter{cl.stderr, stderr}
	}
	if err := cmd.Start(); err != nil {
		return result{exitCode: -1}, nil, &Error{Kind: startErrKind(err), Args: RedactArgs(cl.args), ExitCode: -1, Cause: err}
	}
	runErr = cmd.Wait()
	return result{stdout: stdout.Bytes(), stderr: stderr.String(), exitCode: cliproc.ExitCode(cmd)}, runErr, nil
}

// failure builds the *Error of a finished child.
func (c *Client) failure(ctx context.Context, args []string, code int, stderr string, cause error) error {
	cl := classify(code, stderr)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return &Error{Kind: cliproc.CtxKind(ctxErr, ErrTimeout, ErrFailed), Args: RedactArgs(args), ExitCode: -1, Stderr: cl.line, Cause: ctxErr}
	}
	return &Error{Kind: cl.kind, Args: RedactArgs(args), ExitCode: code, Stderr: cl.line, Cause: cliproc.ExitCause(cause)}
}

func startErrKind(err error) error {
	if cliproc.BinaryMissing(err) {
		return ErrBinaryNotFound
	}
	return ErrFailed
}

// parseError wraps a JSON (or other output) parse failure of a command.
func parseError(args []string, res result, err error) error {
	return &Error{Kind: ErrFailed, Args: RedactArgs(args), ExitCode: res.exitCode, Stderr: "unexpected output: " + err.Error(), Cause: err}
}

type teeWriter struct {
	a, b interface{ Write([]byte) (int, error) }
}

func (t teeWriter) Write(p []byte) (int, error) {
	if _, err := t.b.Write(p); err != nil {
		return 0, err
	}
	return t.a.Write(p)
}

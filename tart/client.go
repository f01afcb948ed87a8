package tart

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"

	"github.com/tartanhq/tartan/internal/cliproc"
)

// fallbackPaths are searched after $PATH: a runner started by launchd has a
// bare PATH without Homebrew's directories.
var fallbackPaths = []string{"/opt/homebrew/bin/tart", "/usr/local/bin/tart"}

// waitDelay bounds how long a cancelled call waits for tart's output pipes
// after its process group was killed.
const waitDelay = cliproc.WaitDelay

// Client runs one tart binary. It is safe for concurrent use.
type Client struct {
	binary string
	opts   Options

	versions cliproc.VersionCache[Version] // `tart --version`, probed once
}

// New finds the tart binary and validates o. It does not run tart.
func New(o Options) (*Client, error) {
	bin, err := findBinary(o.Binary)
	if err != nil {
		return nil, err
	}
	for _, kv := range o.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("Options.Env entry %q is not KEY=VALUE", redactWord(kv))
		}
		if strings.HasPrefix(k, "TART_REGISTRY_") {
			return nil, usagef("Options.Env must not carry %s: registry credentials go per call in PullOptions/CloneOptions.Credentials", k)
		}
	}
	return &Client{binary: bin, opts: o}, nil
}

func findBinary(explicit string) (string, error) {
	p, lerr := cliproc.FindBinary(explicit, "tart", fallbackPaths)
	if lerr != nil {
		return "", &BinaryNotFoundError{Searched: lerr.Searched, Reason: lerr.Reason}
	}
	return p, nil
}

// Binary is the path of the tart binary this client runs.
func (c *Client) Binary() string { return c.binary }

// environ is the child's environment: ours minus any inherited registry
// credential (it would belong to someone else), plus CI=1, TART_HOME,
// TART_NO_AUTO_PRUNE, Options.Env, and this call's credentials.
func (c *Client) environ(creds *Credentials) []string {
	env := make([]string, 0, len(os.Environ())+8)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "TART_REGISTRY_"):
		case k == "CI", k == "TART_HOME" && c.opts.Home != "", k == "TART_NO_AUTO_PRUNE" && c.opts.NoAutoPrune:
		default:
			env = append(env, kv)
		}
	}
	env = append(env, "CI=1")
	if c.opts.Home != "" {
		env = append(env, "TART_HOME="+c.opts.Home)
	}
	if c.opts.NoAutoPrune {
		env = append(env, "TART_NO_AUTO_PRUNE=1")
	}
	env = append(env, c.opts.Env...)
	if creds != nil {
		env = append(env, "TART_REGISTRY_USERNAME="+creds.Username, "TART_REGISTRY_PASSWORD="+creds.Password)
		if creds.Hostname != "" {
			env = append(env, "TART_REGISTRY_HOSTNAME="+creds.Hostname)
		}
	}
	return env
}

// call describes one short-lived tart invocation.
type call struct {
	args     []string
	creds    *Credentials
	progress func(string) // stdout lines as they arrive
}

// result of a finished call.
type result struct {
	stdout   []byte
	stderr   string
	exitCode int
}

// command prepares an unstarted child in its own process group whose
// cancellation kills the whole group.
func (c *Client) command(ctx context.Context, args []string, creds *Credentials) *exec.Cmd {
	return cliproc.Command(ctx, c.binary, args, c.environ(creds))
}

// run executes a call and returns its output, or a classified *Error.
func (c *Client) run(ctx context.Context, cl call) (result, error) {
	cmd := c.command(ctx, cl.args, cl.creds)
	var stdout bytes.Buffer
	stderr := cliproc.NewTailBuffer(64 << 10)
	cmd.Stderr = stderr
	var lines *lineWriter
	if cl.progress != nil {
		lines = &lineWriter{out: &stdout, fn: cl.progress}
		cmd.Stdout = lines
	} else {
		cmd.Stdout = &stdout
	}
	var err error
	if startErr := cmd.Start(); startErr != nil {
		err = &Error{Kind: startErrKind(startErr), Args: RedactArgs(cl.args), ExitCode: -1, Cause: startErr}
	} else if werr := cmd.Wait(); werr != nil {
		err = c.failure(ctx, cl.args, exitCode(cmd), stderr.String(), werr)
	}
	if lines != nil {
		lines.flush()
	}
	return result{stdout: stdout.Bytes(), stderr: stderr.String(), exitCode: exitCode(cmd)}, err
}

// failure builds the *Error for a finished child.
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

func exitCode(cmd *exec.Cmd) int { return cliproc.ExitCode(cmd) }

// lastLine returns the last non-blank line of out (tart may print warnings
// before the answer).
func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

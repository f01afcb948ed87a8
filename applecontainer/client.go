package applecontainer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// fallbackPaths are searched after $PATH: a Nomad client started by launchd
// has a bare PATH. /usr/local/bin is where the signed .pkg installs.
var fallbackPaths = []string{"/usr/local/bin/container", "/opt/homebrew/bin/container"}

// waitDelay bounds how long a cancelled call waits for the CLI's output
// pipes after its process group was killed.
const waitDelay = 5 * time.Second

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

	mu      sync.Mutex
	version *Version      // detected once (successfully) and cached
	probe   *versionProbe // the `container --version` in flight, if any
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
	if explicit != "" {
		if err := checkExecutable(explicit); err != nil {
			return "", &BinaryNotFoundError{Searched: []string{explicit}, Reason: err.Error()}
		}
		return explicit, nil
	}
	searched := []string{"$PATH"}
	if p, err := exec.LookPath("container"); err == nil {
		return p, nil
	}
	for _, p := range fallbackPaths {
		searched = append(searched, p)
		if checkExecutable(p) == nil {
			return p, nil
		}
	}
	return "", &BinaryNotFoundError{Searched: searched}
}

func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory", p)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not executable", p)
	}
	return nil
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
	setProcessGroup(cmd)
	return cmd
}

// command prepares an unstarted child in its own process group whose
// cancellation kills the whole group, with a bounded wait for its pipes.
func (c *Client) command(ctx context.Context, args []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.binary, args...)
	cmd.Env = c.environ()
	setProcessGroup(cmd)
	cmd.Cancel = func() error { return killProcessGroup(cmd) }
	cmd.WaitDelay = waitDelay
	return cmd
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
	stderr := &tailBuffer{max: 64 << 10}
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
	return result{stdout: stdout.Bytes(), stderr: stderr.String(), exitCode: exitCode(cmd)}, runErr, nil
}

// failure builds the *Error of a finished child.
func (c *Client) failure(ctx context.Context, args []string, code int, stderr string, cause error) error {
	cl := classify(code, stderr)
	if ctxErr := ctx.Err(); ctxErr != nil {
		kind := ErrFailed
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			kind = ErrTimeout
		}
		return &Error{Kind: kind, Args: RedactArgs(args), ExitCode: -1, Stderr: cl.line, Cause: ctxErr}
	}
	e := &Error{Kind: cl.kind, Args: RedactArgs(args), ExitCode: code, Stderr: cl.line}
	var exitErr *exec.ExitError
	if !errors.As(cause, &exitErr) {
		e.Cause = cause
	}
	return e
}

func startErrKind(err error) error {
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, exec.ErrNotFound) {
		return ErrBinaryNotFound
	}
	return ErrFailed
}

func exitCode(cmd *exec.Cmd) int {
	if cmd.ProcessState == nil {
		return -1
	}
	return cmd.ProcessState.ExitCode()
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

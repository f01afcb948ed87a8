package tart

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

// fallbackPaths are searched after $PATH: a runner started by launchd has a
// bare PATH without Homebrew's directories.
var fallbackPaths = []string{"/opt/homebrew/bin/tart", "/usr/local/bin/tart"}

// waitDelay bounds how long a cancelled call waits for tart's output pipes
// after its process group was killed.
const waitDelay = 5 * time.Second

// Client runs one tart binary. It is safe for concurrent use.
type Client struct {
	binary string
	opts   Options

	mu      sync.Mutex
	version *Version      // detected once (successfully) and cached
	probe   *versionProbe // the `tart --version` in flight, if any
}

// versionProbe is one shared `tart --version` run; done is closed when v
// and err are set.
type versionProbe struct {
	done chan struct{}
	v    Version
	err  error
}

// versionProbeTimeout bounds the shared probe, which does not die with the
// context of whichever caller happened to start it.
const versionProbeTimeout = 30 * time.Second

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
	if explicit != "" {
		if err := checkExecutable(explicit); err != nil {
			return "", &BinaryNotFoundError{Searched: []string{explicit}, Reason: err.Error()}
		}
		return explicit, nil
	}
	searched := []string{"$PATH"}
	if p, err := exec.LookPath("tart"); err == nil {
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
	cmd := exec.CommandContext(ctx, c.binary, args...)
	cmd.Env = c.environ(creds)
	setProcessGroup(cmd)
	cmd.Cancel = func() error { return killProcessGroup(cmd) }
	cmd.WaitDelay = waitDelay
	return cmd
}

// run executes a call and returns its output, or a classified *Error.
func (c *Client) run(ctx context.Context, cl call) (result, error) {
	cmd := c.command(ctx, cl.args, cl.creds)
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: 64 << 10}
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

// lineWriter hands every complete line to fn as soon as it is written
// (progress callbacks), keeping a copy of everything in out. exec.Cmd
// calls Write from a single goroutine.
type lineWriter struct {
	out     *bytes.Buffer
	fn      func(string)
	partial []byte
}

// maxLine bounds a line without newline kept in memory before it is
// delivered anyway.
const maxLine = 64 << 10

func (w *lineWriter) Write(p []byte) (int, error) {
	w.out.Write(p)
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.fn(strings.TrimRight(string(w.partial[:i]), "\r"))
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > maxLine {
		w.flush()
	}
	return len(p), nil
}

// flush delivers a trailing line without newline.
func (w *lineWriter) flush() {
	if len(w.partial) > 0 {
		w.fn(strings.TrimRight(string(w.partial), "\r"))
		w.partial = nil
	}
}

// failure builds the *Error for a finished child.
func (c *Client) failure(ctx context.Context, args []string, code int, stderr string, cause error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		kind := ErrFailed
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			kind = ErrTimeout
		}
		return &Error{Kind: kind, Args: RedactArgs(args), ExitCode: -1, Stderr: classify(code, stderr).line, Cause: ctxErr}
	}
	cl := classify(code, stderr)
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

// lastLine returns the last non-blank line of out (tart may print warnings
// before the answer).
func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// tailBuffer keeps the first and the last bytes written, bounded, so a
// chatty child cannot grow memory without limit. Safe for concurrent
// writers.
type tailBuffer struct {
	mu    sync.Mutex
	max   int
	head  []byte
	tail  []byte
	total int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	t.total += n
	half := t.max / 2
	if room := half - len(t.head); room > 0 {
		n := min(room, len(p))
		t.head = append(t.head, p[:n]...)
		p = p[n:]
	}
	t.tail = append(t.tail, p...)
	if over := len(t.tail) - half; over > 0 {
		t.tail = append(t.tail[:0], t.tail[over:]...)
	}
	return n, nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.total > len(t.head)+len(t.tail) {
		return string(t.head) + "\n...\n" + string(t.tail)
	}
	return string(t.head) + string(t.tail)
}

// Version runs `tart --version` once and caches a successful answer.
// Concurrent callers share one probe; each stops waiting when its own ctx
// ends. A failed probe is not cached: the next call tries again.
func (c *Client) Version(ctx context.Context) (Version, error) {
	c.mu.Lock()
	if c.version != nil {
		v := *c.version
		c.mu.Unlock()
		return v, nil
	}
	p := c.probe
	if p == nil {
		p = &versionProbe{done: make(chan struct{})}
		c.probe = p
		go c.runProbe(context.WithoutCancel(ctx), p)
	}
	c.mu.Unlock()
	select {
	case <-p.done:
		return p.v, p.err
	case <-ctx.Done():
		kind := ErrFailed
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			kind = ErrTimeout
		}
		return Version{}, &Error{Kind: kind, Args: []string{"--version"}, ExitCode: -1, Cause: ctx.Err()}
	}
}

func (c *Client) runProbe(ctx context.Context, p *versionProbe) {
	ctx, cancel := context.WithTimeout(ctx, versionProbeTimeout)
	defer cancel()
	p.v, p.err = c.detectVersion(ctx)
	c.mu.Lock()
	if p.err == nil {
		c.version = &p.v
	}
	c.probe = nil
	c.mu.Unlock()
	close(p.done)
}

func (c *Client) detectVersion(ctx context.Context) (Version, error) {
	res, err := c.run(ctx, call{args: []string{"--version"}})
	if err != nil {
		return Version{}, err
	}
	v, perr := ParseVersion(lastLine(res.stdout))
	if perr != nil {
		return Version{}, &Error{Kind: ErrFailed, Args: []string{"--version"}, ExitCode: res.exitCode, Stderr: perr.Error(), Cause: perr}
	}
	return v, nil
}

// Supports returns nil when the installed tart has f, else
// *UnsupportedError (errors.Is ErrUnsupported).
func (c *Client) Supports(ctx context.Context, f Feature) error {
	v, err := c.Version(ctx)
	if err != nil {
		return err
	}
	return CheckFeature(v, f)
}

// require checks every feature before a command runs. No features: no
// version probe.
func (c *Client) require(ctx context.Context, fs []Feature) error {
	if len(fs) == 0 {
		return nil
	}
	v, err := c.Version(ctx)
	if err != nil {
		return err
	}
	return checkFeatures(v, fs)
}

package tart

import (
	"context"
	"io"
	"net/netip"
	"os/exec"
	"time"

	"github.com/tartanhq/tartan/internal/cliproc"
)

// Pull runs `tart pull image`. Progress lines go to o.Progress as they
// arrive; credentials only through the child's environment.
func (c *Client) Pull(ctx context.Context, image string, o PullOptions) error {
	args, err := PullArgs(image, o)
	if err != nil {
		return err
	}
	if err := c.require(ctx, append(pullFeatures(o), credFeatures(o.Credentials)...)); err != nil {
		return err
	}
	_, err = c.run(ctx, call{args: args, creds: o.Credentials, progress: o.Progress})
	return err
}

// Clone runs `tart clone src dst` (pulling a remote src first if needed).
func (c *Client) Clone(ctx context.Context, src, dst string, o CloneOptions) error {
	args, err := CloneArgs(src, dst, o)
	if err != nil {
		return err
	}
	if err := c.require(ctx, append(cloneFeatures(o), credFeatures(o.Credentials)...)); err != nil {
		return err
	}
	_, err = c.run(ctx, call{args: args, creds: o.Credentials, progress: o.Progress})
	return err
}

func credFeatures(cr *Credentials) []Feature {
	if cr == nil {
		return nil
	}
	if cr.Hostname != "" {
		return []Feature{FeatureRegistryCredential, FeatureRegistryHostname}
	}
	return []Feature{FeatureRegistryCredential}
}

// Set runs `tart set name ...`.
func (c *Client) Set(ctx context.Context, name string, o SetOptions) error {
	args, err := SetArgs(name, o)
	if err != nil {
		return err
	}
	if err := c.require(ctx, setFeatures(o)); err != nil {
		return err
	}
	_, err = c.run(ctx, call{args: args})
	return err
}

// Get runs `tart get name --format json`.
func (c *Client) Get(ctx context.Context, name string) (VMInfo, error) {
	args, err := GetArgs(name)
	if err != nil {
		return VMInfo{}, err
	}
	if err := c.require(ctx, []Feature{FeatureJSONFormat}); err != nil {
		return VMInfo{}, err
	}
	res, err := c.run(ctx, call{args: args})
	if err != nil {
		return VMInfo{}, err
	}
	info, perr := ParseVMInfo(res.stdout)
	if perr != nil {
		return VMInfo{}, &Error{Kind: ErrFailed, Args: RedactArgs(args), ExitCode: res.exitCode, Stderr: perr.Error(), Cause: perr}
	}
	return info, nil
}

// List runs `tart list --format json`.
func (c *Client) List(ctx context.Context, o ListOptions) ([]VMEntry, error) {
	args, err := ListArgs(o)
	if err != nil {
		return nil, err
	}
	if err := c.require(ctx, []Feature{FeatureJSONFormat}); err != nil {
		return nil, err
	}
	res, err := c.run(ctx, call{args: args})
	if err != nil {
		return nil, err
	}
	vms, perr := ParseVMList(res.stdout)
	if perr != nil {
		return nil, &Error{Kind: ErrFailed, Args: RedactArgs(args), ExitCode: res.exitCode, Stderr: perr.Error(), Cause: perr}
	}
	return vms, nil
}

// IP runs `tart ip` and returns the address from the last stdout line.
func (c *Client) IP(ctx context.Context, name string, o IPOptions) (string, error) {
	args, err := IPArgs(name, o)
	if err != nil {
		return "", err
	}
	if err := c.require(ctx, ipFeatures(o)); err != nil {
		return "", err
	}
	res, err := c.run(ctx, call{args: args})
	if err != nil {
		return "", err
	}
	line := lastLine(res.stdout)
	addr, perr := netip.ParseAddr(line)
	if perr != nil || line == "" {
		return "", &Error{Kind: ErrNoIP, Args: RedactArgs(args), ExitCode: res.exitCode, Stderr: "tart ip printed " + quoteArg(line) + ", not an IP address"}
	}
	return addr.String(), nil
}

// Stop runs `tart stop`. timeout <= 0 keeps tart's default (30 s); the ctx
// should allow longer than timeout.
func (c *Client) Stop(ctx context.Context, name string, timeout time.Duration) error {
	args, err := StopArgs(name, timeout)
	if err != nil {
		return err
	}
	_, err = c.run(ctx, call{args: args})
	return err
}

// Suspend runs `tart suspend` (returns once the signal is sent; the snapshot
// is written by tart run afterwards).
func (c *Client) Suspend(ctx context.Context, name string) error {
	args, err := SuspendArgs(name)
	if err != nil {
		return err
	}
	if err := c.require(ctx, []Feature{FeatureSuspend}); err != nil {
		return err
	}
	_, err = c.run(ctx, call{args: args})
	return err
}

// Delete runs `tart delete names...` (tart stops at the first failure).
func (c *Client) Delete(ctx context.Context, names ...string) error {
	args, err := DeleteArgs(names...)
	if err != nil {
		return err
	}
	_, err = c.run(ctx, call{args: args})
	return err
}

// FQN runs `tart fqn` (remote name -> host/ns@sha256:...; local names are
// returned unchanged).
func (c *Client) FQN(ctx context.Context, name string) (string, error) {
	args, err := FQNArgs(name)
	if err != nil {
		return "", err
	}
	if err := c.require(ctx, []Feature{FeatureFQN}); err != nil {
		return "", err
	}
	res, err := c.run(ctx, call{args: args})
	if err != nil {
		return "", err
	}
	return lastLine(res.stdout), nil
}

// Prune runs `tart prune`.
func (c *Client) Prune(ctx context.Context, o PruneOptions) error {
	args, err := PruneArgs(o)
	if err != nil {
		return err
	}
	if err := c.require(ctx, pruneFeatures(o)); err != nil {
		return err
	}
	_, err = c.run(ctx, call{args: args})
	return err
}

// Exec runs argv in the guest with `tart exec` and returns the guest
// command's exit code. err is non-nil only when tart itself failed (VM not
// running, agent unreachable, ...) or ctx ended; a non-zero guest exit is
// not an error.
func (c *Client) Exec(ctx context.Context, name string, argv []string, o ExecOptions) (int, error) {
	cmd, err := c.ExecCommand(ctx, name, argv, o)
	if err != nil {
		return -1, err
	}
	stderr := cliproc.NewTailBuffer(16 << 10)
	if cmd.Stderr == nil {
		cmd.Stderr = stderr
	} else {
		cmd.Stderr = io.MultiWriter(cmd.Stderr, stderr)
	}
	args := cmd.Args[1:]
	if err := cmd.Start(); err != nil {
		return -1, &Error{Kind: startErrKind(err), Args: RedactArgs(args), ExitCode: -1, Cause: err}
	}
	werr := cmd.Wait()
	code := exitCode(cmd)
	if ctx.Err() != nil {
		return -1, c.failure(ctx, args, code, stderr.String(), werr)
	}
	if werr != nil {
		if _, isExit := werr.(*exec.ExitError); !isExit {
			return -1, &Error{Kind: ErrFailed, Args: RedactArgs(args), ExitCode: code, Cause: werr}
		}
	}
	if code < 0 {
		// tart itself was killed by a signal: no guest exit code to report.
		return -1, &Error{Kind: ErrFailed, Args: RedactArgs(args), ExitCode: -1, Stderr: meaningfulLast(stderr.String()), Cause: werr}
	}
	if err := ExecFailure(args, code, stderr.String()); err != nil {
		return -1, err
	}
	return code, nil
}

// ExecCommand prepares (does not start) `tart exec` for callers that need
// the process itself (PTY, signal forwarding). The child is in its own
// process group and cancelling ctx kills that group; callers may replace
// SysProcAttr (e.g. Setsid+Setctty for a PTY). Stdin/Stdout/Stderr come from
// o (nil Stdin = /dev/null).
func (c *Client) ExecCommand(ctx context.Context, name string, argv []string, o ExecOptions) (*exec.Cmd, error) {
	args, err := ExecArgs(name, argv, o)
	if err != nil {
		return nil, err
	}
	if err := c.require(ctx, []Feature{FeatureExec}); err != nil {
		return nil, err
	}
	cmd := c.command(ctx, args, nil)
	cmd.Stdin = o.Stdin
	cmd.Stdout = o.Stdout
	cmd.Stderr = o.Stderr
	return cmd, nil
}

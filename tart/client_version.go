package tart

import (
	"context"

	"github.com/tartanhq/tartan/internal/cliproc"
)

// Version runs `tart --version` once and caches a successful answer.
// Concurrent callers share one probe; each stops waiting when its own ctx
// ends. A failed probe is not cached: the next call tries again.
func (c *Client) Version(ctx context.Context) (Version, error) {
	return c.versions.Get(ctx, c.detectVersion, func(ctxErr error) error {
		return &Error{Kind: cliproc.CtxKind(ctxErr, ErrTimeout, ErrFailed), Args: []string{"--version"}, ExitCode: -1, Cause: ctxErr}
	})
}

// SetVersion seeds the cache with a version learnt earlier (an executor
// stage passing it to the next), so no `tart --version` runs.
func (c *Client) SetVersion(v Version) { c.versions.Set(v) }

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

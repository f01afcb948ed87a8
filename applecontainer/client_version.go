package applecontainer

import (
	"context"
	"strings"

	"github.com/tartanhq/tartan/internal/cliproc"
)

// Version runs `container --version` once and caches a successful answer.
// Concurrent callers share one probe; each stops waiting when its own ctx
// ends. A failed probe is not cached. `--version` does not need the
// apiserver.
func (c *Client) Version(ctx context.Context) (Version, error) {
	return c.versions.Get(ctx, c.detectVersion, func(ctxErr error) error {
		return &Error{Kind: cliproc.CtxKind(ctxErr, ErrTimeout, ErrFailed), Args: []string{"--version"}, ExitCode: -1, Cause: ctxErr}
	})
}

func (c *Client) detectVersion(ctx context.Context) (Version, error) {
	args := []string{"--version"}
	res, err := c.run(ctx, args)
	if err != nil {
		return Version{}, err
	}
	line := strings.TrimSpace(string(res.stdout))
	if i := strings.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	v, perr := ParseVersion(line)
	if perr != nil {
		return Version{}, parseError(args, res, perr)
	}
	return v, nil
}

// Supports returns nil when the installed CLI has f, else *UnsupportedError
// (errors.Is ErrUnsupported) naming f and the release that adds it.
func (c *Client) Supports(ctx context.Context, f Feature) error {
	v, err := c.Version(ctx)
	if err != nil {
		return err
	}
	return CheckFeature(v, f)
}

// CheckVersion returns the installed version, with an *UnsupportedError
// when it is older than MinimumVersion.
func (c *Client) CheckVersion(ctx context.Context) (Version, error) {
	v, err := c.Version(ctx)
	if err != nil {
		return v, err
	}
	if !v.AtLeast(MinimumVersion) {
		return v, &UnsupportedError{Feature: "this client (JSON shapes, error semantics)", Have: v, Need: MinimumVersion}
	}
	return v, nil
}

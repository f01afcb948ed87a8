package applecontainer

import (
	"context"
	"errors"
	"strings"
	"time"
)

// versionProbe is one shared `container --version` run; done is closed when
// v and err are set.
type versionProbe struct {
	done chan struct{}
	v    Version
	err  error
}

// versionProbeTimeout bounds the shared probe, which does not die with the
// context of whichever caller happened to start it.
const versionProbeTimeout = 30 * time.Second

// Version runs `container --version` once and caches a successful answer.
// Concurrent callers share one probe; each stops waiting when its own ctx
// ends. A failed probe is not cached. `--version` does not need the
// apiserver.
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

package tart

import (
	"context"
	"errors"
	"time"
)

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

// SetVersion seeds the cache with a version learnt earlier (an executor
// stage passing it to the next), so no `tart --version` runs.
func (c *Client) SetVersion(v Version) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version = &v
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

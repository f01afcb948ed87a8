package applecontainer

import (
	"context"
	"strconv"
	"time"
)

// SystemStartOptions for SystemStart.
type SystemStartOptions struct {
	// EnableKernelInstall answers the CLI's kernel-install prompt (without
	// a kernel, `system start` otherwise reads stdin and fails without a
	// TTY). false passes --disable-kernel-install.
	EnableKernelInstall bool
	// Timeout for the apiserver to answer (0 = CLI default, 60 s; 0.10.0+).
	Timeout time.Duration
}

// SystemStart runs `container system start`. It is idempotent on the CLI's
// side (a running apiserver is adopted).
func (c *Client) SystemStart(ctx context.Context, o SystemStartOptions) error {
	args := []string{"system", "start"}
	if o.EnableKernelInstall {
		args = append(args, "--enable-kernel-install")
	} else {
		args = append(args, "--disable-kernel-install")
	}
	if o.Timeout < 0 {
		return inputf("SystemStartOptions.Timeout", "%s is negative", o.Timeout)
	}
	if o.Timeout > 0 {
		if err := c.require(ctx, FeatureSystemStartTimeout); err != nil {
			return err
		}
		args = append(args, "--timeout", strconv.FormatInt(int64((o.Timeout+time.Second-1)/time.Second), 10))
	}
	_, err := c.run(ctx, args)
	return err
}

// SystemStop runs `container system stop` (stops every container, then the
// apiserver).
func (c *Client) SystemStop(ctx context.Context) error {
	_, err := c.run(ctx, []string{"system", "stop"})
	return err
}

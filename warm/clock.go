package warm

import (
	"context"
	"fmt"
	"time"

	"github.com/tartanhq/tartan/guest"
)

// ClockCommand is the default guest command that sets a resumed macOS
// guest's clock from the host: a saved state carries the time of the
// snapshot. It only steps the clock when it is more than 2 s off (so a
// guest whose clock is right, e.g. a simulated one sharing the host's
// clock, is left alone), using passwordless sudo (Cirrus Labs images
// allow it for admin) and BSD date's [[[mm]dd]HH]MM[[cc]yy][.ss] form.
func ClockCommand(now time.Time) guest.Command {
	now = now.UTC()
	script := fmt.Sprintf(`now=%d
g=$(date -u +%%s)
d=$((now - g)); [ "$d" -lt 0 ] && d=$((0 - d))
[ "$d" -le 2 ] && exit 0
exec sudo -n date -u %s >/dev/null
`, now.Unix(), now.Format("010215042006.05"))
	return guest.Command{Shell: "/bin/sh", Script: script}
}

// syncClock runs the clock command; a failure is returned for the caller
// to log (the job can still run with a wrong clock).
func (m *Manager) syncClock(ctx context.Context, tr guest.Transport) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := tr.Run(cctx, m.o.ClockCommand(m.o.Now()))
	if err != nil {
		return fmt.Errorf("setting the guest clock after a resume: %w", err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("setting the guest clock after a resume: exit code %d", res.ExitCode)
	}
	return nil
}

package warm_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tartanhq/tartan/warm"
)

// The default clock command, run by /bin/sh with a fake guest `date` and
// `sudo`: it steps the clock (BSD date format, UTC) only when it is off.
func TestClockCommandStepsOnlyAStaleClock(t *testing.T) {
	now := time.Date(2026, 12, 6, 5, 7, 9, 0, time.UTC)
	for _, c := range []struct {
		guestEpoch int64
		wantSet    bool
	}{
		{now.Unix() - 3*3600, true}, // resumed from a 3 h old snapshot
		{now.Unix() + 60, true},
		{now.Unix() - 1, false}, // already right
	} {
		bin := t.TempDir()
		record := filepath.Join(t.TempDir(), "sudo-args")
		writeExe(t, filepath.Join(bin, "date"), "#!/bin/sh\necho "+itoa(c.guestEpoch)+"\n")
		writeExe(t, filepath.Join(bin, "sudo"), "#!/bin/sh\nprintf '%s ' \"$@\" > "+record+"\n")
		cmd := warm.ClockCommand(now)
		sh := exec.Command(cmd.Shell, "-c", cmd.Script)
		sh.Env = []string{"PATH=" + bin + ":/usr/bin:/bin"}
		if out, err := sh.CombinedOutput(); err != nil {
			t.Fatalf("script: %v %s", err, out)
		}
		got, err := os.ReadFile(record)
		if !c.wantSet {
			if err == nil {
				t.Fatalf("guest clock %d: stepped although right: %s", c.guestEpoch, got)
			}
			continue
		}
		if want := "-n date -u 120605072026.09"; strings.TrimSpace(string(got)) != want {
			t.Fatalf("guest clock %d: sudo %q, want %q", c.guestEpoch, got, want)
		}
	}
}

func writeExe(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

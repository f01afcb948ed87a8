package tartdriver

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/nomad/plugins/drivers"
)

// What `tart run` prints when its VM ends (tart-cli.md §8.5). It exits 0
// for a guest power-off and for a VM that died of an error alike, so the
// log line decides.
const (
	lineGuestStopped = "guest has stopped the virtual machine"
	lineGuestError   = "guest has stopped the virtual machine due to error"
	lineStopping     = "Stopping VM..."
)

// vmEnd is the result of a VM-only task whose VM ended. Only a clean guest
// power-off (or a stop Nomad asked for) is success; a crashed or killed VM
// fails the task with what is known, so restart and reschedule apply.
func (h *taskHandle) vmEnd() *drivers.ExitResult {
	if h.stopRequested.Load() {
		return &drivers.ExitResult{ExitCode: 0}
	}
	out := readRunLog(h.state.RunLogPath, h.state.RunLogOffset)
	code := h.run.ExitCode()
	ownChild := h.run.Done() != nil // else reattached: no exit status
	fail := func(format string, args ...any) *drivers.ExitResult {
		return &drivers.ExitResult{ExitCode: max(code, 1), Err: fmt.Errorf("%w: "+format, append([]any{ErrVMCrashed}, args...)...)}
	}
	switch {
	case hasLine(out, lineGuestError) != "":
		return fail("%s (tart run exit %d)", hasLine(out, lineGuestError), code)
	case ownChild && code > 0:
		return fail("tart run exited with status %d: %s", code, lastLogLine(out))
	case ownChild && code < 0:
		return fail("tart run was killed by a signal (the VM process crashed or was killed)%s", suffix(lastLogLine(out)))
	case hasLine(out, lineGuestStopped) != "":
		return &drivers.ExitResult{ExitCode: 0}
	case hasLine(out, lineStopping) != "":
		return fail("the VM was stopped from outside Nomad (tart stop or a signal to tart run); stop the job with nomad instead")
	}
	return fail("the VM ended without a guest power-off (tart run was killed or crashed)%s", suffix(lastLogLine(out)))
}

// ErrVMCrashed: a VM-only task's VM ended without a clean guest power-off.
var ErrVMCrashed = errors.New("the task's VM ended abnormally")

func suffix(s string) string {
	if s == "" {
		return ""
	}
	return "; its last line: " + s
}

// readRunLog returns this run's part of the run log (at most 64 KiB of it,
// the end).
func readRunLog(path string, off int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size()-off > 64<<10 {
		off = st.Size() - 64<<10
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(f, 64<<10))
	return string(b)
}

// hasLine returns the last line that starts with prefix ("" if none).
func hasLine(out, prefix string) string {
	lines := strings.Split(out, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

func lastLogLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

package guest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/tart"
)

// execLeavesTerminalHolder is a fake tart whose `exec -t` exits at once but
// leaves a background process (immune to the terminal's hang-up) holding
// the host terminal open, its PID in $TARTAN_FAKE_DIR/holder.
const execLeavesTerminalHolder = `for a in "$@"; do
	if [ "$a" = "-t" ]; then
		trap '' HUP
		sleep 30 &
		echo $! > "$TARTAN_FAKE_DIR/holder"
		echo done
		exit 0
	fi
done
exit 0`

// A process in the guest session that outlives tart keeps the host terminal
// open; Run must still return promptly, and the output copier end once that
// process goes.
func TestAgentTerminalHeldOpenAfterTartExits(t *testing.T) {
	noLeaks(t)
	c, dir := fakeTart(t, execLeavesTerminalHolder)
	a := NewAgent(c, "vm")
	a.GuestTempDir = dir

	out := &syncBuffer{}
	start := time.Now()
	res, err := a.Run(runCtx(t), Command{Argv: []string{"true"}, Stdout: out, PTY: &PTY{Cols: 80, Rows: 24}})
	must.NoError(t, err)
	must.Eq(t, 0, res.ExitCode)
	must.StrContains(t, out.String(), "done")
	must.Less(t, 10*time.Second, time.Since(start))

	// The holder is ours to end (it ignores SIGHUP, not SIGKILL).
	b, err := os.ReadFile(filepath.Join(dir, "holder"))
	must.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	must.NoError(t, err)
	must.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
}

// tart's own failure is recognised with a PTY too: its message reaches us
// through the host terminal, which must not rewrite its line ends.
func TestAgentTerminalRecognisesTartFailures(t *testing.T) {
	noLeaks(t)
	vm := startVM(t, nil)
	for name, pty := range map[string]*PTY{"no pty": nil, "pty": {Cols: 80, Rows: 24}} {
		t.Run(name, func(t *testing.T) {
			a := NewAgent(vm.tart, "no-such-vm")
			a.GuestTempDir = vm.tempDir
			_, err := a.Run(runCtx(t), Command{Argv: []string{"true"}, PTY: pty})
			must.ErrorIs(t, err, ErrConnectionLost)
			must.ErrorIs(t, err, tart.ErrVMNotFound)
		})
	}
}

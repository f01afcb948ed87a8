package guest

import (
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/tartanhq/tartan/tart"
)

func TestConnectRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"unknown mode":           {Mode: "telnet", SSH: SSHConfig{Addr: "127.0.0.1:22", User: "a", Password: "b"}},
		"agent without tart":     {Mode: ModeAgent, VM: "vm"},
		"ssh without an address": {Mode: ModeSSH, SSH: SSHConfig{User: "a", Password: "b"}},
		"ssh without creds":      {Mode: ModeSSH, SSH: SSHConfig{Addr: "127.0.0.1:22", User: "a"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Connect(runCtx(t), cfg)
			must.ErrorIs(t, err, ErrInvalidInput)
		})
	}
}

// Without tart (no VM name) auto mode goes straight to SSH.
func TestConnectAutoWithoutTartUsesSSH(t *testing.T) {
	noLeaks(t)
	g := startGuest(t, nil)
	tr, err := Connect(runCtx(t), Config{SSH: g.ssh})
	must.NoError(t, err)
	defer tr.Close()
	_, isSSH := tr.(*SSH)
	must.True(t, isSSH)
}

func TestConnectUnreachableIsBounded(t *testing.T) {
	noLeaks(t)
	cfg := Config{Mode: ModeSSH, SSH: SSHConfig{Addr: "127.0.0.1:" + strconv.Itoa(freePort(t)), User: "a", Password: "b"}, BootWait: time.Second}
	start := time.Now()
	_, err := Connect(runCtx(t), cfg)
	must.ErrorIs(t, err, ErrUnreachable)
	// What every attempt saw, with the transport named; not the last
	// attempt cut by the deadline.
	must.RegexMatch(t, regexp.MustCompile(`^guest: unreachable: 127\.0\.0\.1:\d+: tried for 1s: SSH 127\.0\.0\.1:\d+: connection refused for [0-9.]+m?s \(\d+ attempts\)$`), err.Error())
	must.Less(t, 4*time.Second, time.Since(start))
}

// A deadline on ctx (the caller's ready timeout) ends Connect with the same
// summary, not "context deadline exceeded".
func TestConnectDeadlineSummarisesAttempts(t *testing.T) {
	noLeaks(t)
	cfg := Config{Mode: ModeSSH, SSH: SSHConfig{Addr: "127.0.0.1:" + strconv.Itoa(freePort(t)), User: "a", Password: "b"}, BootWait: time.Minute}
	ctx, cancel := context.WithTimeout(runCtx(t), 700*time.Millisecond)
	defer cancel()
	_, err := Connect(ctx, cfg)
	must.ErrorIs(t, err, ErrUnreachable)
	must.StrContains(t, err.Error(), "connection refused")
	must.StrNotContains(t, err.Error(), "deadline")
}

func TestTartExecFailures(t *testing.T) {
	cases := []struct {
		code   int
		stderr string
		want   []error // nil: the guest command's own exit
	}{
		{1, "Failed to connect to the VM using its control socket: x, is the Tart Guest Agent running?\n", []error{ErrConnectionLost, ErrAgentUnavailable}},
		{1, "\"tart exec\" is only available on macOS 14 (Sonoma) or newer\n", []error{ErrAgentUnavailable, tart.ErrUnsupported}},
		{2, "VM \"vm\" is not running\n", []error{ErrConnectionLost, tart.ErrNotRunning}},
		{2, "the specified VM \"vm\" does not exist\n", []error{ErrConnectionLost, tart.ErrVMNotFound}},
		{1, "my program: Failed to connect to the VM\n", nil}, // not at line start: the guest's
		{2, "grep: x: No such file\n", nil},
		{0, "", nil},
	}
	for _, tc := range cases {
		err := tartExecFailure("vm", tc.code, tc.stderr)
		if tc.want == nil {
			must.NoError(t, err, must.Sprint(tc.stderr))
			continue
		}
		for _, w := range tc.want {
			must.ErrorIs(t, err, w, must.Sprint(tc.stderr))
		}
	}
	must.True(t, mayBeAgentFailure("Error: guest agent connection lost: EOF"))
	must.True(t, mayBeAgentFailure("Error: rpcError(code: unavailable)"))
	must.False(t, mayBeAgentFailure("npm ERR! failed"))
	must.False(t, mayBeAgentFailure("Error: tests failed"))
}

func TestCommandErrorMessage(t *testing.T) {
	must.Eq(t, "guest: copy to /x failed with exit code 1: cat: /x: Permission denied",
		(&CommandError{Op: "copy to /x", ExitCode: 1, Stderr: "cat: /x: Permission denied"}).Error())
	must.Eq(t, "guest: cleanup failed with exit code 2", (&CommandError{Op: "cleanup", ExitCode: 2}).Error())
}

// A `tart ip` that never answers must not hold Connect past its budget.
func TestConnectBoundsAHangingTartIP(t *testing.T) {
	noLeaks(t)
	c, _ := fakeTart(t, `[ "$1" = ip ] && exec sleep 60; exit 1`)
	cfg := Config{
		Mode: ModeSSH, Tart: c, VM: "vm",
		SSH:      SSHConfig{User: "admin", Password: "admin", DialTimeout: time.Second},
		BootWait: time.Second,
	}
	start := time.Now()
	_, err := Connect(context.Background(), cfg)
	must.ErrorIs(t, err, ErrUnreachable)
	must.Less(t, 10*time.Second, time.Since(start))
}

// sshd and the guest agent start at about the same time in a booting guest.
// An agent probe that loses that race must not pin the job to SSH: once SSH
// answers, auto mode asks the agent once more and prefers it.
func TestConnectAutoPrefersAnAgentThatStartsJustAfterSSH(t *testing.T) {
	noLeaks(t)
	g := startGuest(t, nil)
	// The first `tart exec` finds no control socket; later ones succeed.
	c, dir := fakeTart(t, `[ "$1" = exec ] || exit 1
if [ -e "$TARTAN_FAKE_DIR/agent-up" ]; then exit 0; fi
: > "$TARTAN_FAKE_DIR/agent-up"
echo "Error: Failed to connect to the VM using its control socket: connect(2) failed: No such file or directory, is the Tart Guest Agent running?" >&2
exit 1`)
	tr, err := Connect(runCtx(t), Config{Tart: c, VM: "vm", SSH: g.ssh})
	must.NoError(t, err)
	defer tr.Close()
	_, isAgent := tr.(*Agent)
	must.True(t, isAgent, must.Sprintf("auto mode chose %T", tr))
	must.FileExists(t, dir+"/agent-up")
}

// A guest without a working agent is served over SSH after one extra probe.
func TestConnectAutoFallsBackToSSHWhenTheAgentStaysDown(t *testing.T) {
	noLeaks(t)
	g := startGuest(t, nil)
	c, _ := fakeTart(t, `echo "Error: Failed to connect to the VM using its control socket: connect(2) failed: No such file or directory, is the Tart Guest Agent running?" >&2
exit 1`)
	tr, err := Connect(runCtx(t), Config{Tart: c, VM: "vm", SSH: g.ssh})
	must.NoError(t, err)
	defer tr.Close()
	_, isSSH := tr.(*SSH)
	must.True(t, isSSH, must.Sprintf("auto mode chose %T", tr))
}

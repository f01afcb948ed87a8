package guestsim

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"
	"golang.org/x/crypto/ssh"
)

// A shell request runs the image user's login shell: zsh on macOS images,
// bash on Linux images (what other executors pipe their scripts into).
func TestSSHShellRequestRunsLoginShell(t *testing.T) {
	for guestOS, want := range map[string]string{"darwin": "zsh 5", "linux": "bash 5"} {
		t.Run(guestOS, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.OS = guestOS
			c := mustDial(t, serve(t, cfg))
			s, err := c.NewSession()
			must.NoError(t, err)
			defer s.Close()
			s.Stdin = strings.NewReader(`echo "${ZSH_VERSION:+zsh $ZSH_VERSION}${BASH_VERSION:+bash $BASH_VERSION} login=$0"` + "\n")
			out := &syncBuffer{}
			s.Stdout = out
			must.NoError(t, s.Shell())
			must.NoError(t, s.Wait())
			must.StrHasPrefix(t, want, out.String())
			must.StrContains(t, out.String(), "login=-") // argv[0] "-zsh": a login shell
		})
	}
}

// startDropped starts command over a fresh connection (with a PTY when
// asked), waits until it printed "ready", then drops the connection.
func startDropped(t *testing.T, cfg Config, command string, withPTY bool) {
	t.Helper()
	c, err := dialPassword(t, cfg, cfg.Password)
	must.NoError(t, err)
	s, err := c.NewSession()
	must.NoError(t, err)
	if withPTY {
		must.NoError(t, s.RequestPty("xterm", 24, 80, ssh.TerminalModes{}))
	}
	out := &syncBuffer{}
	s.Stdout = out
	_, err = s.StdinPipe() // stdin stays open until the drop
	must.NoError(t, err)
	must.NoError(t, s.Start(command))
	eventually(t, "ready", 10*time.Second, func() bool { return strings.Contains(out.String(), "ready") })
	must.NoError(t, c.Close())
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// Without a PTY, sshd kills nothing when the connection drops: the command
// sees EOF on stdin, keeps running, and dies of SIGPIPE at its next write
// to the closed output.
func TestSSHDropWithoutPTYClosesPipesOnly(t *testing.T) {
	cfg := serve(t, testConfig(t))
	log := filepath.Join(t.TempDir(), "log")
	startDropped(t, cfg, `trap 'echo hup >> `+log+`' HUP
echo $$ > `+log+`.pid; echo ready
cat > /dev/null
echo stdin-eof >> `+log+`
sleep 0.2
echo still-running >> `+log+`
echo to-the-dropped-client
echo survived-the-write >> `+log, false)
	eventually(t, "the command to end", 10*time.Second, func() bool {
		pid, err := strconv.Atoi(strings.TrimSpace(readFile(log + ".pid")))
		return err == nil && processGone(pid)
	})
	got := readFile(log)
	must.StrContains(t, got, "stdin-eof\nstill-running\n") // not killed at the drop
	must.StrNotContains(t, got, "hup")                     // no hang-up without a terminal
	must.StrNotContains(t, got, "survived-the-write")      // SIGPIPE
}

// With a PTY the terminal hangs up: the session leader gets SIGHUP.
func TestSSHDropWithPTYSendsSIGHUP(t *testing.T) {
	cfg := serve(t, testConfig(t))
	log := filepath.Join(t.TempDir(), "log")
	startDropped(t, cfg, `trap 'echo hup >> `+log+`; exit 0' HUP; echo ready; while :; do sleep 0.05; done`, true)
	eventually(t, "SIGHUP", 10*time.Second, func() bool { return strings.Contains(readFile(log), "hup") })
}

// A background job of a dropped command keeps running (sshd leaves it), and
// stopping the guest still ends it.
func TestSSHDropLeavesBackgroundJobUntilGuestStops(t *testing.T) {
	cfg := testConfig(t)
	g, err := startGuest(cfg)
	must.NoError(t, err)
	log := filepath.Join(t.TempDir(), "log")
	startDropped(t, cfg, `sleep 300 & echo $! > `+log+`.pid; echo ready; cat > /dev/null; sleep 0.2; echo alive-after-drop > `+log+`; wait`, false)
	// A kill at the drop would have ended the whole group at once.
	eventually(t, "the command to outlive the drop", 10*time.Second, func() bool { return readFile(log) == "alive-after-drop\n" })
	pid := mustAtoi(t, strings.TrimSpace(readFile(log+".pid")))
	must.False(t, processGone(pid))
	g.shutdown()
	eventually(t, "background job gone", 10*time.Second, func() bool { return processGone(pid) })
}

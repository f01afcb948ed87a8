package guestsim

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"
	"golang.org/x/crypto/ssh"
)

func TestSSHPasswordAuth(t *testing.T) {
	cfg := serve(t, testConfig(t))
	c := mustDial(t, cfg)
	r := run(t, c, "echo hello", "")
	must.NoError(t, r.err)
	must.Eq(t, "hello\n", r.stdout)

	_, err := dialPassword(t, cfg, "wrong")
	must.ErrorContains(t, err, "unable to authenticate")
}

func TestSSHKeyAuthFromAuthorizedKeys(t *testing.T) {
	cfg := serve(t, testConfig(t))
	signer, pub := newKey(t)
	dial := func() error {
		c, err := ssh.Dial("tcp", sshAddr(cfg), &ssh.ClientConfig{
			User: cfg.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
			HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
		})
		if err == nil {
			c.Close()
		}
		return err
	}
	must.Error(t, dial()) // not authorized yet

	_, other := newKey(t)
	must.NoError(t, os.MkdirAll(filepath.Join(cfg.HomeDir, ".ssh"), 0o700))
	keys := "# comment\n" + string(ssh.MarshalAuthorizedKey(other)) + string(ssh.MarshalAuthorizedKey(pub))
	must.NoError(t, os.WriteFile(filepath.Join(cfg.HomeDir, ".ssh", "authorized_keys"), []byte(keys), 0o600))
	must.NoError(t, dial())
}

func TestSSHStdoutStderrApartAndExitStatus(t *testing.T) {
	cfg := serve(t, testConfig(t))
	c := mustDial(t, cfg)
	r := run(t, c, "echo out; echo err >&2; exit 7", "")
	must.Eq(t, "out\n", r.stdout)
	must.Eq(t, "err\n", r.stderr)
	var ee *ssh.ExitError
	must.True(t, errors.As(r.err, &ee))
	must.Eq(t, 7, ee.ExitStatus())
	must.Eq(t, "", ee.Signal())
}

func TestSSHExitSignal(t *testing.T) {
	cfg := serve(t, testConfig(t))
	c := mustDial(t, cfg)
	r := run(t, c, "kill -TERM $$", "")
	var ee *ssh.ExitError
	must.True(t, errors.As(r.err, &ee), must.Sprintf("err = %v", r.err))
	must.Eq(t, "TERM", ee.Signal())
}

func TestSSHEnvironmentAndShell(t *testing.T) {
	cfg := serve(t, testConfig(t))
	c := mustDial(t, cfg)
	r := run(t, c, `printf '%s|%s|%s|%s|%s|' "$HOME" "$USER" "$LOGNAME" "$SHELL" "$(pwd)"; test -n "$PATH" && echo path`, "")
	must.NoError(t, r.err)
	want := strings.Join([]string{cfg.HomeDir, "admin", "admin", "/bin/zsh", cfg.HomeDir}, "|") + "|path\n"
	must.Eq(t, want, r.stdout)
}

func TestSSHEnvRequestRefused(t *testing.T) {
	cfg := serve(t, testConfig(t))
	c := mustDial(t, cfg)
	s, err := c.NewSession()
	must.NoError(t, err)
	defer s.Close()
	must.Error(t, s.Setenv("SECRET", "x"))
	out, err := s.Output("echo \"[$SECRET]\"")
	must.NoError(t, err)
	must.Eq(t, "[]\n", string(out))
}

func TestSSHStdinRoundTrip(t *testing.T) {
	cfg := serve(t, testConfig(t))
	c := mustDial(t, cfg)
	input := strings.Repeat("line of input\n", 5000) // bigger than one window / pipe buffer
	r := run(t, c, "cat; echo done", input)
	must.NoError(t, r.err)
	must.Eq(t, input+"done\n", r.stdout)
}

func TestSSHSignalRequestReachesCommand(t *testing.T) {
	cfg := serve(t, testConfig(t))
	c := mustDial(t, cfg)
	s, err := c.NewSession()
	must.NoError(t, err)
	defer s.Close()
	out := &syncBuffer{}
	s.Stdout = out
	must.NoError(t, s.Start(`trap 'echo got-usr1; exit 3' USR1; echo ready; while :; do sleep 0.05; done`))
	eventually(t, "command ready", 10*time.Second, func() bool { return strings.Contains(out.String(), "ready") })
	must.NoError(t, s.Signal(ssh.SIGUSR1))
	err = s.Wait()
	var ee *ssh.ExitError
	must.True(t, errors.As(err, &ee), must.Sprintf("err = %v", err))
	must.Eq(t, 3, ee.ExitStatus())
	must.StrContains(t, out.String(), "got-usr1")
}

func TestSSHPTYSizeAndResize(t *testing.T) {
	cfg := serve(t, testConfig(t))
	c := mustDial(t, cfg)
	s, err := c.NewSession()
	must.NoError(t, err)
	defer s.Close()
	must.NoError(t, s.RequestPty("xterm", 33, 101, ssh.TerminalModes{}))
	out := &syncBuffer{}
	s.Stdout = out
	// The kernel sends SIGWINCH to the terminal's process group on resize.
	must.NoError(t, s.Start(`trap 'stty size; exit 0' WINCH; stty size; echo "term=$TERM"; while :; do sleep 0.05; done`))
	eventually(t, "first size", 10*time.Second, func() bool { return strings.Contains(out.String(), "term=xterm") })
	must.StrContains(t, out.String(), "33 101")
	must.NoError(t, s.WindowChange(40, 120))
	must.NoError(t, s.Wait())
	must.StrContains(t, out.String(), "40 120")
}

func TestSSHKeepaliveAnswered(t *testing.T) {
	cfg := serve(t, testConfig(t))
	c := mustDial(t, cfg)
	ok, _, err := c.SendRequest("keepalive@openssh.com", true, nil)
	must.NoError(t, err) // an answer, even a refusal, proves the server alive
	must.False(t, ok)
}

func TestSSHRefuseFault(t *testing.T) {
	cfg := testConfig(t)
	cfg.SSHRefuse = true
	serve(t, cfg)
	_, err := dialPassword(t, cfg, cfg.Password)
	must.Error(t, err)
}

func TestSSHDropAfterFault(t *testing.T) {
	cfg := testConfig(t)
	cfg.SSHDropAfter = 300 * time.Millisecond
	serve(t, cfg)
	c := mustDial(t, cfg)
	start := time.Now()
	r := run(t, c, "sleep 30", "")
	must.Error(t, r.err)
	var ee *ssh.ExitError
	must.False(t, errors.As(r.err, &ee)) // connection lost, not an exit status
	must.Less(t, 10*time.Second, time.Since(start))
}

func TestSSHDropFault(t *testing.T) {
	cfg := testConfig(t)
	g, err := startGuest(cfg)
	must.NoError(t, err)
	defer g.shutdown()
	c, err := dialPassword(t, cfg, cfg.Password)
	must.NoError(t, err)
	defer c.Close()
	must.NoError(t, g.fault(FaultDropSSH))
	must.Error(t, c.Wait()) // the client sees its connection end
	// the server still accepts new connections
	c2, err := dialPassword(t, cfg, cfg.Password)
	must.NoError(t, err)
	c2.Close()
	must.ErrorIs(t, g.fault("explode"), ErrUnknownFault)
}

func TestSSHHostKeyStableAcrossRestarts(t *testing.T) {
	cfg := testConfig(t)
	var keys []string
	for range 2 {
		g, err := startGuest(cfg)
		must.NoError(t, err)
		c, err := ssh.Dial("tcp", sshAddr(cfg), &ssh.ClientConfig{
			User: cfg.User, Auth: []ssh.AuthMethod{ssh.Password(cfg.Password)},
			HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error {
				keys = append(keys, string(k.Marshal()))
				return nil
			},
			Timeout: 10 * time.Second,
		})
		must.NoError(t, err)
		c.Close()
		g.shutdown()
	}
	must.Len(t, 2, keys)
	must.Eq(t, keys[0], keys[1])
}

func TestSSHDelayRefusesUntilBooted(t *testing.T) {
	cfg := testConfig(t)
	cfg.SSHDelay = time.Second
	serve(t, cfg)
	_, err := dialPassword(t, cfg, cfg.Password)
	must.Error(t, err)
	eventually(t, "sshd up", 10*time.Second, func() bool {
		c, err := dialPassword(t, cfg, cfg.Password)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

func TestSSHInteractiveShell(t *testing.T) {
	cfg := serve(t, testConfig(t))
	c := mustDial(t, cfg)
	s, err := c.NewSession()
	must.NoError(t, err)
	defer s.Close()
	s.Stdin = strings.NewReader("echo from-shell\nexit 4\n")
	out := &syncBuffer{}
	s.Stdout = out
	must.NoError(t, s.Shell())
	err = s.Wait()
	var ee *ssh.ExitError
	must.True(t, errors.As(err, &ee), must.Sprintf("err = %v", err))
	must.Eq(t, 4, ee.ExitStatus())
	must.StrContains(t, out.String(), "from-shell")
}

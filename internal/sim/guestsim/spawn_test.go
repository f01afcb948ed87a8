package guestsim

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"
	"golang.org/x/crypto/ssh"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mount namespaces need root; the non-root fallback is covered by TestServeSharesAsSymlinks")
	}
}

// spawn starts a guest child process stopped at test end.
func spawn(t *testing.T, cfg Config) *Guest {
	t.Helper()
	g, err := Spawn(cfg)
	must.NoError(t, err)
	t.Cleanup(func() { _ = g.Stop() })
	return g
}

func TestSpawnSharesReadOnlyAndReadWrite(t *testing.T) {
	requireRoot(t)
	for _, guestOS := range []string{"darwin", "linux"} {
		t.Run(guestOS, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.OS = guestOS
			ro, rw := t.TempDir(), t.TempDir()
			must.NoError(t, os.WriteFile(filepath.Join(ro, "given.txt"), []byte("from host\n"), 0o644))
			cfg.Shares = []Share{{Name: "ro", HostPath: ro, ReadOnly: true}, {Name: "rw", HostPath: rw}}
			spawn(t, cfg)
			c := mustDial(t, cfg)
			roPath, rwPath := GuestSharePath(guestOS, "ro"), GuestSharePath(guestOS, "rw")

			r := run(t, c, "cat '"+roPath+"/given.txt'", "")
			must.NoError(t, r.err)
			must.Eq(t, "from host\n", r.stdout)

			r = run(t, c, "touch '"+roPath+"/new'", "")
			var ee *ssh.ExitError
			must.True(t, errors.As(r.err, &ee), must.Sprintf("touch in a read-only share must fail: %v", r.err))
			must.StrContains(t, r.stderr, "Read-only file system")
			_, err := os.Stat(filepath.Join(ro, "new"))
			must.True(t, errors.Is(err, os.ErrNotExist))

			r = run(t, c, "echo written > '"+rwPath+"/out.txt'", "")
			must.NoError(t, r.err)
			b, err := os.ReadFile(filepath.Join(rw, "out.txt"))
			must.NoError(t, err)
			must.Eq(t, "written\n", string(b))

			// The guest's mounts stay in its namespace.
			for _, p := range []string{roPath, rwPath, "/Volumes/My Shared Files"} {
				_, err := os.Stat(p)
				must.True(t, errors.Is(err, os.ErrNotExist), must.Sprintf("%s visible on the host", p))
			}
		})
	}
}

func TestSpawnStopKillsGuestProcesses(t *testing.T) {
	requireRoot(t)
	cfg := testConfig(t)
	g := spawn(t, cfg)
	c := mustDial(t, cfg)
	s, err := c.NewSession()
	must.NoError(t, err)
	out := &syncBuffer{}
	s.Stdout = out
	must.NoError(t, s.Start(`sleep 300 & echo started; wait`))
	eventually(t, "command started", 10*time.Second, func() bool { return strings.Contains(out.String(), "started") })
	pids := descendants(t, g.cmd.Process.Pid) // guest, shell, sleep
	must.SliceNotEmpty(t, pids)
	must.NoError(t, g.Stop())
	must.NoError(t, g.Wait())
	for _, pid := range pids {
		eventually(t, "guest process gone", 10*time.Second, func() bool { return processGone(pid) })
	}
	_, err = dialPassword(t, cfg, cfg.Password)
	must.Error(t, err)
	_, err = os.Stat(cfg.AgentSocket)
	must.True(t, errors.Is(err, os.ErrNotExist))
	must.ErrorIs(t, g.Fault(FaultDropSSH), ErrGuestExited)
}

func TestSpawnFaults(t *testing.T) {
	requireRoot(t)
	cfg := testConfig(t)
	g := spawn(t, cfg)
	c := mustDial(t, cfg)
	must.NoError(t, g.Fault(FaultDropSSH))
	must.Error(t, c.Wait())
	must.NoError(t, g.Fault(FaultKillAgent))
	_, err := os.Stat(cfg.AgentSocket)
	must.True(t, errors.Is(err, os.ErrNotExist))
	c2 := mustDial(t, cfg) // SSH survives the agent
	must.NoError(t, run(t, c2, "true", "").err)
	must.ErrorIs(t, g.Fault("reboot"), ErrUnknownFault)
}

func TestSpawnBadShareFailsClearly(t *testing.T) {
	requireRoot(t)
	cfg := testConfig(t)
	cfg.Shares = []Share{{Name: "gone", HostPath: filepath.Join(t.TempDir(), "missing")}}
	_, err := Spawn(cfg)
	must.ErrorContains(t, err, `share "gone"`)
}

func TestSpawnGuestDiesWithParent(t *testing.T) {
	requireRoot(t)
	cfg := testConfig(t)
	exe, err := os.Executable()
	must.NoError(t, err)
	parent := exec.Command(exe, spawnParentCommand)
	stdin, err := parent.StdinPipe()
	must.NoError(t, err)
	stdout, err := parent.StdoutPipe()
	must.NoError(t, err)
	parent.Stderr = os.Stderr
	must.NoError(t, parent.Start())
	t.Cleanup(func() { _ = parent.Process.Kill(); _ = parent.Wait() })
	must.NoError(t, json.NewEncoder(stdin).Encode(cfg))
	line, err := bufio.NewReader(stdout).ReadString('\n')
	must.NoError(t, err)
	must.Eq(t, "spawned\n", line)

	c := mustDial(t, cfg)
	s, err := c.NewSession()
	must.NoError(t, err)
	out := &syncBuffer{}
	s.Stdout = out
	// a daemon that leaves the session's process group and is orphaned
	must.NoError(t, s.Start(`setsid sleep 300 & sleep 300 & echo started; wait`))
	eventually(t, "command started", 10*time.Second, func() bool { return strings.Contains(out.String(), "started") })
	var pids []int
	eventually(t, "guest processes listed", 10*time.Second, func() bool {
		pids = descendants(t, parent.Process.Pid) // init, guest, shell, sleeps
		return len(pids) >= 5
	})

	must.NoError(t, parent.Process.Kill()) // `tart run` dies without cleaning up
	_ = parent.Wait()
	for _, pid := range pids {
		eventually(t, "guest process gone", 10*time.Second, func() bool { return processGone(pid) })
	}
}

func TestServeSharesAsSymlinks(t *testing.T) {
	cfg := testConfig(t)
	shared := t.TempDir()
	must.NoError(t, os.WriteFile(filepath.Join(shared, "f"), []byte("x"), 0o644))
	cfg.Shares = []Share{{Name: "src", HostPath: shared}}
	serve(t, cfg)
	c := mustDial(t, cfg)
	r := run(t, c, `cat "$HOME/Shared Files/src/f"`, "")
	must.NoError(t, r.err)
	must.Eq(t, "x", r.stdout)
}

func TestSpawnLeavesNoGoroutines(t *testing.T) {
	requireRoot(t)
	before := runtime.NumGoroutine()
	cfg := testConfig(t)
	g, err := Spawn(cfg)
	must.NoError(t, err)
	c, err := dialPassword(t, cfg, cfg.Password)
	must.NoError(t, err)
	must.NoError(t, run(t, c, "true", "").err)
	must.NoError(t, g.Fault(FaultDropSSH))
	_ = c.Close()
	must.NoError(t, g.Stop())
	must.NoError(t, g.Stop()) // idempotent
	must.NoError(t, g.Wait())
	eventually(t, "goroutines back to baseline", 10*time.Second, func() bool { return runtime.NumGoroutine() <= before })
}

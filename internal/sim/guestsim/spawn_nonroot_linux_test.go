//go:build linux

package guestsim

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

// nobody is the unprivileged user the non-root fallback runs as.
const nobody = 65534

// TestSpawnWithoutRootFallsBackToSymlinks runs a copy of this test binary as
// an unprivileged `tart run` (uid nobody): no namespace, shares as symlinks
// in the home directory, and the guest still dies with its parent.
func TestSpawnWithoutRootFallsBackToSymlinks(t *testing.T) {
	requireRoot(t) // root is needed to become nobody
	dir := t.TempDir()
	// t.TempDir makes 0700 directories; nobody must reach the binary.
	must.NoError(t, os.Chmod(dir, 0o755))
	must.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	exe := filepath.Join(dir, "guestsim.test")
	copyExecutable(t, exe)

	cfg := testConfig(t)
	cfg.VMDir = filepath.Join(dir, "vm")
	cfg.HomeDir = filepath.Join(dir, "home")
	cfg.AgentSocket = filepath.Join(cfg.VMDir, "control.sock")
	shared := filepath.Join(dir, "shared")
	for _, d := range []string{cfg.VMDir, cfg.HomeDir, shared} {
		must.NoError(t, os.Mkdir(d, 0o755))
		must.NoError(t, os.Chown(d, nobody, nobody))
	}
	must.NoError(t, os.WriteFile(filepath.Join(shared, "f"), []byte("via link"), 0o644))
	cfg.Shares = []Share{{Name: "src", HostPath: shared, ReadOnly: true}}

	parent := exec.Command(exe, spawnParentCommand)
	parent.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	parent.Env = []string{"GORACE=atexit_sleep_ms=0"}
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
	r := run(t, c, `id -u; cat "$HOME/Shared Files/src/f"`, "")
	must.NoError(t, r.err)
	must.Eq(t, "65534\nvia link", r.stdout)

	s, err := c.NewSession()
	must.NoError(t, err)
	out := &syncBuffer{}
	s.Stdout = out
	must.NoError(t, s.Start(`sleep 300 & echo started; wait`))
	eventually(t, "command started", 10*time.Second, func() bool { return strings.Contains(out.String(), "started") })
	var pids []int
	eventually(t, "guest processes listed", 10*time.Second, func() bool {
		pids = descendants(t, parent.Process.Pid) // guest, shell, sleep
		return len(pids) >= 3
	})
	must.NoError(t, parent.Process.Kill())
	_ = parent.Wait()
	for _, pid := range pids {
		eventually(t, "guest process gone", 10*time.Second, func() bool { return processGone(pid) })
	}
}

func copyExecutable(t *testing.T, dst string) {
	t.Helper()
	src, err := os.Executable()
	must.NoError(t, err)
	in, err := os.Open(src)
	must.NoError(t, err)
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o755)
	must.NoError(t, err)
	_, err = io.Copy(out, in)
	must.NoError(t, err)
	must.NoError(t, out.Close())
}

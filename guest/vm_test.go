package guest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/tartanhq/tartan/internal/sim/guestsim"
	"github.com/tartanhq/tartan/internal/testenv"
	"github.com/tartanhq/tartan/tart"
)

const simImage = "ghcr.io/cirruslabs/ubuntu:latest" // a Linux guest with the agent

var vmSeq atomic.Int32

// simVM is a VM run by tart-sim for the test (clone + run), stopped and
// deleted at its end.
type simVM struct {
	tart    *tart.Client
	name    string
	home    string
	tempDir string // guest staging dir (a host path too: the guest creates it in its own /tmp)
}

// startVM clones and runs a VM; env holds TART_SIM_* knobs for its tart run.
func startVM(t testing.TB, env []string, dirs ...tart.Share) simVM {
	t.Helper()
	home := t.TempDir()
	c, err := tart.New(tart.Options{Binary: testenv.TartSim(t), Home: home, Env: env})
	must.NoError(t, err)
	name := fmt.Sprintf("guest-test-%d", vmSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	must.NoError(t, c.Clone(ctx, simImage, name, tart.CloneOptions{}))
	h, err := c.Run(ctx, name, tart.RunOptions{NoGraphics: true, Dirs: dirs, LogPath: filepath.Join(home, "run.log")})
	must.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Stop(ctx, name, 10*time.Second); err != nil {
			t.Errorf("stopping %s: %v", name, err)
		}
		select {
		case <-h.Done():
		case <-ctx.Done():
			t.Errorf("tart run of %s did not exit", name)
		}
		must.NoError(t, c.Delete(ctx, name))
	})
	return simVM{tart: c, name: name, home: home, tempDir: t.TempDir()}
}

func (v simVM) config(mode Mode) Config {
	return Config{
		Mode: mode, Tart: v.tart, VM: v.name,
		SSH:          SSHConfig{User: "admin", Password: "admin", DialTimeout: 5 * time.Second},
		BootWait:     15 * time.Second,
		GuestTempDir: v.tempDir,
	}
}

func (v simVM) connect(t testing.TB, mode Mode) Transport {
	t.Helper()
	tr, err := Connect(runCtx(t), v.config(mode))
	must.NoError(t, err)
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// simulator runs `tart sim ...` (test-only commands) for vm.
func (v simVM) simulator(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(testenv.TartSim(t), append([]string{"sim"}, args...)...)
	cmd.Env = append(cmd.Environ(), "TART_HOME="+v.home)
	out, err := cmd.CombinedOutput()
	must.NoError(t, err, must.Sprintf("tart sim %s: %s", strings.Join(args, " "), out))
}

func TestAgentTransportOnVM(t *testing.T) {
	noLeaks(t)
	shared := t.TempDir()
	vm := startVM(t, nil,
		tart.Share{Name: "work", Path: shared},
		tart.Share{Name: "ro", Path: t.TempDir(), ReadOnly: true})
	tr := vm.connect(t, ModeAgent)
	_, isAgent := tr.(*Agent)
	must.True(t, isAgent)
	testTransport(t, transportCase{tr: tr, signalNameKnown: false, dirs: sharedDirs(shared, "work")})
	testShares(t, tr, shared)
}

func TestSSHTransportOnVM(t *testing.T) {
	noLeaks(t)
	shared := t.TempDir()
	vm := startVM(t, nil,
		tart.Share{Name: "work", Path: shared},
		tart.Share{Name: "ro", Path: t.TempDir(), ReadOnly: true})
	tr := vm.connect(t, ModeSSH)
	_, isSSH := tr.(*SSH)
	must.True(t, isSSH)
	testTransport(t, transportCase{tr: tr, signalNameKnown: true, dirs: sharedDirs(shared, "work")})
	testShares(t, tr, shared)
}

// sharedDirs makes fresh directories inside the host directory shared with
// the VM as name: the simulated VM, like a real one, has its own /tmp, so
// host temp dirs are not guest paths.
func sharedDirs(shared, name string) func(t *testing.T) (string, string) {
	return func(t *testing.T) (string, string) {
		host, err := os.MkdirTemp(shared, "dir-")
		must.NoError(t, err)
		return guestsim.GuestSharePath("linux", name) + "/" + filepath.Base(host), host
	}
}

// testShares: a read-write share takes writes, a read-only one refuses them.
func testShares(t *testing.T, tr Transport, shared string) {
	t.Run("shares", func(t *testing.T) {
		var out, errb strings.Builder
		res, err := tr.Run(runCtx(t), Command{Script: "echo hi > '/mnt/shared/work/from-guest'", Stderr: &errb})
		must.NoError(t, err)
		must.Eq(t, 0, res.ExitCode, must.Sprint(errb.String()))
		must.FileContains(t, filepath.Join(shared, "from-guest"), "hi")

		errb.Reset()
		res, err = tr.Run(runCtx(t), Command{Script: "echo x > '/mnt/shared/ro/nope'", Stdout: &out, Stderr: &errb})
		must.NoError(t, err)
		must.NonZero(t, res.ExitCode)
		must.StrContains(t, errb.String(), "Read-only file system")
	})
}

func TestConnectAutoPicksTheAgent(t *testing.T) {
	vm := startVM(t, nil)
	tr := vm.connect(t, ModeAuto)
	_, isAgent := tr.(*Agent)
	must.True(t, isAgent, must.Sprintf("auto picked %T", tr))
}

func TestConnectAutoFallsBackToSSH(t *testing.T) {
	vm := startVM(t, []string{"TART_SIM_NO_AGENT=1"})
	tr := vm.connect(t, ModeAuto)
	_, isSSH := tr.(*SSH)
	must.True(t, isSSH, must.Sprintf("auto picked %T", tr))
	var out strings.Builder
	res, err := tr.Run(runCtx(t), Command{Argv: []string{"echo", "via ssh"}, Stdout: &out})
	must.NoError(t, err)
	must.Eq(t, 0, res.ExitCode)
	must.Eq(t, "via ssh\n", out.String())
}

func TestConnectAgentModeWithoutAgent(t *testing.T) {
	vm := startVM(t, []string{"TART_SIM_NO_AGENT=1"})
	cfg := vm.config(ModeAgent)
	cfg.BootWait = time.Second
	start := time.Now()
	_, err := Connect(runCtx(t), cfg)
	must.ErrorIs(t, err, ErrAgentUnavailable)
	must.Less(t, 20*time.Second, time.Since(start))
}

func TestConnectWaitsForABootingVM(t *testing.T) {
	vm := startVM(t, []string{"TART_SIM_SSH_DELAY=1s", "TART_SIM_NO_AGENT=1"})
	tr := vm.connect(t, ModeAuto)
	res, err := tr.Run(runCtx(t), Command{Argv: []string{"true"}})
	must.NoError(t, err)
	must.Eq(t, 0, res.ExitCode)
}

func TestSSHDropOnVMIsConnectionLost(t *testing.T) {
	vm := startVM(t, []string{"TART_SIM_SSH_DROP_AFTER=1s"})
	tr := vm.connect(t, ModeSSH)
	start := time.Now()
	_, err := tr.Run(runCtx(t), Command{Argv: []string{"sleep", "20"}})
	must.ErrorIs(t, err, ErrConnectionLost)
	must.Less(t, 10*time.Second, time.Since(start))
}

func TestAgentKilledMidCommandIsConnectionLost(t *testing.T) {
	vm := startVM(t, nil)
	tr := vm.connect(t, ModeAgent)
	out := &syncBuffer{}
	ended := make(chan error, 1)
	go func() {
		_, err := tr.Run(runCtx(t), Command{Script: "echo up; sleep 20", Stdout: out})
		ended <- err
	}()
	waitFor(t, "the command to start", 10*time.Second, func() bool { return out.String() != "" })
	vm.simulator(t, "fault", vm.name, "kill-agent")
	select {
	case err := <-ended:
		must.ErrorIs(t, err, ErrConnectionLost)
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not notice the dead agent")
	}
	// A guest program's own "Error: ..." with exit 1 stays a plain exit
	// code (checked against a live agent on a fresh VM).
	vm2 := startVM(t, nil)
	tr2 := vm2.connect(t, ModeAgent)
	res, err := tr2.Run(runCtx(t), Command{Script: "echo 'Error: connection refused' >&2; exit 1"})
	must.NoError(t, err)
	must.Eq(t, 1, res.ExitCode)
}

func TestConnectToAMissingVMIsFinal(t *testing.T) {
	vm := startVM(t, nil)
	for _, mode := range []Mode{ModeAuto, ModeAgent, ModeSSH} {
		cfg := vm.config(mode)
		cfg.VM = "no-such-vm"
		start := time.Now()
		_, err := Connect(runCtx(t), cfg)
		must.ErrorIs(t, err, tart.ErrVMNotFound, must.Sprintf("mode %s", mode))
		must.Less(t, 5*time.Second, time.Since(start))
	}
}

// While a VM boots neither the agent nor sshd answers; once both do, auto
// mode must still prefer the agent.
func TestConnectAutoOnABootingVMPicksTheAgent(t *testing.T) {
	vm := startVM(t, []string{"TART_SIM_SSH_DELAY=1500ms"})
	var lines []string
	cfg := vm.config(ModeAuto)
	cfg.SSH.Logf = func(f string, args ...any) { lines = append(lines, fmt.Sprintf(f, args...)) }
	tr, err := Connect(runCtx(t), cfg)
	must.NoError(t, err)
	t.Cleanup(func() { _ = tr.Close() })
	_, isAgent := tr.(*Agent)
	must.True(t, isAgent, must.Sprintf("auto picked %T", tr))
	must.SliceNotEmpty(t, lines) // it said it was waiting
}

// A tart older than 2.27 has no exec: agent mode says so at once, auto
// mode uses SSH.
func TestOldTartHasNoAgent(t *testing.T) {
	vm := startVM(t, []string{"TART_SIM_VERSION=2.20.0"})
	cfg := vm.config(ModeAgent)
	start := time.Now()
	_, err := Connect(runCtx(t), cfg)
	must.ErrorIs(t, err, ErrAgentUnavailable)
	must.ErrorIs(t, err, tart.ErrUnsupported)
	must.Less(t, 5*time.Second, time.Since(start))

	tr := vm.connect(t, ModeAuto)
	_, isSSH := tr.(*SSH)
	must.True(t, isSSH, must.Sprintf("auto picked %T", tr))
}

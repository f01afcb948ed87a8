package cliproc

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/shoenig/test/must"
)

func TestCommandRunsWithEnvAndExitCode(t *testing.T) {
	cmd := Command(context.Background(), "/bin/sh", []string{"-c", `printf %s "$GREETING"; exit 3`}, []string{"GREETING=hi"})
	out, err := cmd.Output()
	var exitErr *exec.ExitError
	must.True(t, errors.As(err, &exitErr))
	must.Eq(t, "hi", string(out))
	must.Eq(t, 3, ExitCode(cmd))
	must.Eq(t, WaitDelay, cmd.WaitDelay)
}

func TestExitCodeOfUnstartedIsMinusOne(t *testing.T) {
	must.Eq(t, -1, ExitCode(exec.Command("/bin/true")))
}

func TestBinaryMissing(t *testing.T) {
	err := Command(context.Background(), filepath.Join(t.TempDir(), "gone"), nil, nil).Start()
	must.Error(t, err)
	must.True(t, BinaryMissing(err))

	err = Command(context.Background(), "/", nil, nil).Start() // a directory: exists, cannot run
	must.Error(t, err)
	must.False(t, BinaryMissing(err))
}

func TestKillProcessGroupOfUnstartedIsNil(t *testing.T) {
	must.NoError(t, KillProcessGroup(exec.Command("/bin/true")))
}

func TestCtxKind(t *testing.T) {
	timeout, failed := errors.New("timeout"), errors.New("failed")
	must.Eq(t, timeout, CtxKind(context.DeadlineExceeded, timeout, failed))
	must.Eq(t, failed, CtxKind(context.Canceled, timeout, failed))
}

func TestExitCauseDropsPlainExit(t *testing.T) {
	err := exec.Command("/bin/sh", "-c", "exit 2").Run()
	must.Error(t, err)
	must.NoError(t, ExitCause(err))
	other := errors.New("copying stdout: broken pipe")
	must.Eq(t, other, ExitCause(other))
	must.NoError(t, ExitCause(nil))
}

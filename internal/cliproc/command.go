package cliproc

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"time"
)

// WaitDelay bounds how long a cancelled call waits for the child's output
// pipes after its process group was killed (a grandchild may hold them).
const WaitDelay = 5 * time.Second

// Command prepares an unstarted child of binary in its own process group
// whose cancellation (ctx ending) kills the whole group, with a bounded wait
// for its pipes.
func Command(ctx context.Context, binary string, args, env []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = env
	SetProcessGroup(cmd)
	cmd.Cancel = func() error { return KillProcessGroup(cmd) }
	cmd.WaitDelay = WaitDelay
	return cmd
}

// BinaryMissing reports whether a Start error means the binary is gone
// (removed after it was found, or never there).
func BinaryMissing(startErr error) bool {
	return errors.Is(startErr, os.ErrNotExist) || errors.Is(startErr, exec.ErrNotFound)
}

// ExitCode is cmd's exit status, -1 when it did not exit normally (not
// started, not waited for, or killed by a signal).
func ExitCode(cmd *exec.Cmd) int {
	if cmd.ProcessState == nil {
		return -1
	}
	return cmd.ProcessState.ExitCode()
}

// CtxKind is the error class of a call whose context ended: timeout when
// its deadline passed, failed when it was cancelled.
func CtxKind(ctxErr, timeout, failed error) error {
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		return timeout
	}
	return failed
}

// ExitCause is the Go error worth keeping as the cause of a finished
// child's failure: nil for a plain non-zero exit (*exec.ExitError, which the
// exit code already says), waitErr otherwise (pipe copy or WaitDelay errors).
func ExitCause(waitErr error) error {
	var exitErr *exec.ExitError
	if errors.As(waitErr, &exitErr) {
		return nil
	}
	return waitErr
}

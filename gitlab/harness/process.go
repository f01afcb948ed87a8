package harness

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"syscall"
	"time"
)

// outcome is how one executor process ended, as gitlab-runner sees it.
type outcome struct {
	Code      int  // exit code; -1 when killed by a signal or abandoned
	Signaled  bool // the harness had to signal it (cancel or timeout)
	Abandoned bool // still alive after SIGKILL + force timeout
	StartErr  error
	PID       int
	Duration  time.Duration
}

// runProcess starts one stage the way gitlab-runner's process killer does:
// own process group, cwd = the job's temp dir; on ctx end or timeout it
// sends SIGTERM to the whole group, waits graceful, then SIGKILL, waits
// force, then abandons the process.
func (r *Runner) runProcess(ctx context.Context, argv []string, env []string, dir string, timeout time.Duration, stdout, stderr io.Writer, started func(pid int)) outcome {
	start := time.Now()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A grandchild keeping our pipes open must not hang the harness.
	cmd.WaitDelay = r.forceKill()
	if err := cmd.Start(); err != nil {
		return outcome{Code: -1, StartErr: err, Duration: time.Since(start)}
	}
	pid := cmd.Process.Pid
	if started != nil {
		started(pid)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var timer <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timer = t.C
	}
	finish := func(err error, signaled, abandoned bool) outcome {
		o := outcome{Code: exitCodeOf(cmd, err), Signaled: signaled, Abandoned: abandoned, PID: pid, Duration: time.Since(start)}
		return o
	}
	select {
	case err := <-done:
		return finish(err, false, false)
	case <-ctx.Done():
	case <-timer:
	}
	// Cancel or timeout: SIGTERM to the process group, then SIGKILL.
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	grace := time.NewTimer(r.gracefulKill())
	defer grace.Stop()
	select {
	case err := <-done:
		return finish(err, true, false)
	case <-grace.C:
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	force := time.NewTimer(r.forceKill())
	defer force.Stop()
	select {
	case err := <-done:
		return finish(err, true, false)
	case <-force.C:
		return outcome{Code: -1, Signaled: true, Abandoned: true, PID: pid, Duration: time.Since(start)}
	}
}

func exitCodeOf(cmd *exec.Cmd, err error) int {
	if cmd.ProcessState == nil {
		return -1
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) && !errors.Is(err, exec.ErrWaitDelay) {
		return -1
	}
	return cmd.ProcessState.ExitCode() // -1 when killed by a signal
}

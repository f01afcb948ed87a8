package tartdriver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/tartanhq/tartan/guest"
)

// execConnectWait bounds connecting to a running guest for an exec.
const execConnectWait = 30 * time.Second

func (d *Driver) execTransport(ctx context.Context, taskID string) (guest.Transport, *taskHandle, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, nil, drivers.ErrTaskNotFound
	}
	if !h.isRunning() {
		return nil, nil, fmt.Errorf("task %s is not running", taskID)
	}
	if h.booting() {
		return nil, nil, fmt.Errorf("task %s is still booting its VM; exec works once the task event says the VM is running", taskID)
	}
	if h.settings == nil {
		return nil, nil, fmt.Errorf("%w: the task was started by an older driver version and its config could not be re-read after recovery; exec is unavailable until the task restarts", ErrNoCredentials)
	}
	_, client, _, err := d.snapshot()
	if err != nil {
		return nil, nil, err
	}
	tr, err := connectGuest(ctx, client, h.settings.target(h.state.VMName, h.ip()), execConnectWait)
	if err != nil {
		return nil, nil, err
	}
	return tr, h, nil
}

// ExecTask runs a command in the guest for script checks.
func (d *Driver) ExecTask(taskID string, cmd []string, timeout time.Duration) (*drivers.ExecTaskResult, error) {
	if len(cmd) == 0 {
		return nil, errors.New("ExecTask: empty command")
	}
	ctx, cancel := context.WithTimeout(d.ctx, timeout)
	defer cancel()
	tr, h, err := d.execTransport(ctx, taskID)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	stdout := &cappedBuffer{max: drivers.CheckBufSize}
	stderr := &cappedBuffer{max: drivers.CheckBufSize}
	res, err := tr.Run(ctx, guest.Command{Argv: execArgv(cmd), Env: guestEnv(h.cfg, h.state.GuestOS), Stdout: stdout, Stderr: stderr})
	if err != nil {
		return nil, fmt.Errorf("running %q in the guest: %w", cmd[0], err)
	}
	return &drivers.ExecTaskResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(),
		ExitResult: &drivers.ExitResult{ExitCode: res.ExitCode, Signal: signalNumber(res.Signal)}}, nil
}

// ExecTaskStreaming serves `nomad alloc exec`, with a TTY and resizes.
func (d *Driver) ExecTaskStreaming(ctx context.Context, taskID string, opts *drivers.ExecOptions) (*drivers.ExitResult, error) {
	if len(opts.Command) == 0 {
		return nil, errors.New("exec: empty command")
	}
	tr, h, err := d.execTransport(ctx, taskID)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	cmd := guest.Command{Argv: execArgv(opts.Command), Env: guestEnv(h.cfg, h.state.GuestOS), Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr,
		Dir: guestWorkDir(h.settings, h.state.GuestOS)}
	if opts.Tty {
		resize := make(chan guest.WindowSize, 4)
		cmd.PTY = &guest.PTY{Cols: 80, Rows: 24, Resize: resize}
		done := make(chan struct{})
		defer close(done)
		go func() {
			for {
				select {
				case s, ok := <-opts.ResizeCh:
					if !ok {
						return
					}
					select {
					case resize <- guest.WindowSize{Cols: s.Width, Rows: s.Height}:
					case <-done:
						return
					}
				case <-done:
					return
				}
			}
		}()
	}
	res, err := tr.Run(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return &drivers.ExitResult{ExitCode: res.ExitCode, Signal: signalNumber(res.Signal)}, nil
}

// execPreflight reports a missing program as the shell would for a user
// typing it ("prog: command not found", exit 127), instead of the
// transport's internal wrapper path that a failed exec in it would name.
const execPreflight = `command -v "$1" >/dev/null 2>&1 || { printf '%s: command not found\n' "$1" >&2; exit 127; }; exec "$@"`

func execArgv(cmd []string) []string {
	return append([]string{"/bin/sh", "-c", execPreflight, "sh"}, cmd...)
}

// cappedBuffer keeps the first max bytes, like Nomad's own check output.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

var _ io.Writer = (*cappedBuffer)(nil)

package containerdriver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/tartanhq/tartan/applecontainer"
	"golang.org/x/term"
)

// execClient returns the CLI for an exec into a running task.
func (d *Driver) execClient(taskID string) (*applecontainer.Client, *taskHandle, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, nil, drivers.ErrTaskNotFound
	}
	if !h.isRunning() {
		return nil, nil, fmt.Errorf("task %s is not running", taskID)
	}
	_, client, err := d.snapshot()
	if err != nil {
		return nil, nil, err
	}
	return client, h, nil
}

// ExecTask runs a command in the container for script checks.
func (d *Driver) ExecTask(taskID string, cmd []string, timeout time.Duration) (*drivers.ExecTaskResult, error) {
	if len(cmd) == 0 {
		return nil, errors.New("ExecTask: empty command")
	}
	client, h, err := d.execClient(taskID)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(d.ctx, timeout)
	defer cancel()
	stdout := &cappedBuffer{max: drivers.CheckBufSize}
	stderr := &cappedBuffer{max: drivers.CheckBufSize}
	code, err := client.Exec(ctx, h.state.ContainerID, cmd, applecontainer.ExecOptions{}, stdout, stderr)
	if err != nil {
		return nil, fmt.Errorf("running %q in container %s: %w", cmd[0], h.state.ContainerID, err)
	}
	return &drivers.ExecTaskResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitResult: &drivers.ExitResult{ExitCode: code}}, nil
}

// ExecTaskStreaming serves `nomad alloc exec` with `container exec`: stdin,
// a TTY with resizes when asked, and the command's exit code.
func (d *Driver) ExecTaskStreaming(ctx context.Context, taskID string, opts *drivers.ExecOptions) (*drivers.ExitResult, error) {
	if len(opts.Command) == 0 {
		return nil, errors.New("exec: empty command")
	}
	client, h, err := d.execClient(taskID)
	if err != nil {
		return nil, err
	}
	cmd, err := client.ExecCommand(h.state.ContainerID, opts.Command,
		applecontainer.ExecOptions{Interactive: opts.Stdin != nil, TTY: opts.Tty})
	if err != nil {
		return nil, err
	}
	// The exec ends with the caller's stream, or with the plugin.
	stop := context.AfterFunc(ctx, func() { killGroup(cmd) })
	defer stop()
	if opts.Tty {
		return execTTY(cmd, opts)
	}
	return execPipes(cmd, opts)
}

// execPipes runs cmd with plain pipes. The CLI's own failure (container
// gone, not running) is an error, told apart by its stderr.
func execPipes(cmd *exec.Cmd, opts *drivers.ExecOptions) (*drivers.ExitResult, error) {
	tail := &cappedTail{max: 4 << 10}
	cmd.Stdout = opts.Stdout
	cmd.Stderr = io.MultiWriter(tail, opts.Stderr)
	var stdin io.WriteCloser
	if opts.Stdin != nil {
		var err error
		if stdin, err = cmd.StdinPipe(); err != nil {
			return nil, err
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting container exec: %w", err)
	}
	if stdin != nil {
		// Not waited for: the caller's stream may never end on its own.
		go func() {
			_, _ = io.Copy(stdin, opts.Stdin)
			stdin.Close()
		}()
	}
	err := cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		return nil, fmt.Errorf("container exec: %w", err)
	}
	if cliErr := applecontainer.ExecFailure(cmd.Args[1:], code, tail.String()); cliErr != nil {
		return nil, cliErr
	}
	return &drivers.ExitResult{ExitCode: code}, nil
}

// execTTY runs cmd on a pseudo-terminal sized and resized as the caller's.
// Our side of the terminal is raw: the container's own terminal echoes and
// translates, as Nomad's client terminal expects, and twice would show
// every typed line twice.
func execTTY(cmd *exec.Cmd, opts *drivers.ExecOptions) (*drivers.ExitResult, error) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("opening a pty for container exec: %w", err)
	}
	defer ptmx.Close()
	if _, err := term.MakeRaw(int(tty.Fd())); err != nil {
		tty.Close()
		return nil, fmt.Errorf("making the exec pty raw: %w", err)
	}
	_ = pty.Setsize(ptmx, &pty.Winsize{Cols: 80, Rows: 24})
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	// The CLI leads a new session with the pty as its terminal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	err = cmd.Start()
	tty.Close()
	if err != nil {
		return nil, fmt.Errorf("starting container exec on a pty: %w", err)
	}
	done := make(chan struct{})
	var resizer sync.WaitGroup
	resizer.Add(1)
	defer func() {
		close(done)
		resizer.Wait() // before ptmx closes
	}()
	go func() {
		defer resizer.Done()
		for {
			select {
			case s, ok := <-opts.ResizeCh:
				if !ok {
					return
				}
				_ = pty.Setsize(ptmx, &pty.Winsize{Cols: uint16(s.Width), Rows: uint16(s.Height)})
			case <-done:
				return
			}
		}
	}()
	if opts.Stdin != nil {
		go func() { _, _ = io.Copy(ptmx, opts.Stdin) }()
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		out := &crCollapser{w: opts.Stdout}
		_, _ = io.Copy(out, ptmx) // ends with EIO once the CLI and its children closed the tty
		_ = out.Flush()
	}()
	err = cmd.Wait()
	select {
	case <-copied:
	case <-time.After(2 * time.Second):
	}
	code := cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		return nil, fmt.Errorf("container exec: %w", err)
	}
	return &drivers.ExitResult{ExitCode: code}, nil
}

// killGroup ends an exec's CLI (and its process group when it has one).
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
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

// cappedTail keeps the last max bytes.
type cappedTail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *cappedTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *cappedTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

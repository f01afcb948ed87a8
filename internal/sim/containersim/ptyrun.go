package containersim

import (
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"
)

// runOnPTY runs cmd (runc exec --tty) with a pseudo-terminal as its
// controlling terminal, whatever the CLI's own stdio is, and copies the
// terminal's output to stdout (stderr is merged, as with -t on a Mac).
func (e *env) runOnPTY(cmd *exec.Cmd, interactive bool) error {
	ptmx, tty, err := pty.Open()
	if err != nil {
		return failf("allocate a pty: %v", err)
	}
	defer ptmx.Close()
	if f, ok := e.stdin.(*os.File); ok && interactive && term.IsTerminal(int(f.Fd())) {
		if st, err := term.MakeRaw(int(f.Fd())); err == nil {
			defer func() { _ = term.Restore(int(f.Fd()), st) }()
		}
		if sz, err := pty.GetsizeFull(f); err == nil {
			_ = pty.Setsize(ptmx, sz)
		}
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		tty.Close()
		return err
	}
	tty.Close()
	if interactive {
		go func() { _, _ = io.Copy(ptmx, e.stdin) }()
	}
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(e.stdout, ptmx) // ends with EIO once every slave fd is closed
		close(copied)
	}()
	err = cmd.Wait()
	select { // a background process may keep the terminal open: drain ≤3 s
	case <-copied:
	case <-time.After(3 * time.Second):
	}
	return err
}

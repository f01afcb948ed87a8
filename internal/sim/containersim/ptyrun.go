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

func (e *env) stdinIsTerminal() bool {
	f, ok := e.stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// runOnPTY runs cmd (runc exec --tty) with a pseudo-terminal of its own as
// its controlling terminal, for a CLI whose stdin is not a terminal (runc
// needs one), and copies the terminal's output to stdout (stderr merged, as
// with -t on a Mac). With a terminal on stdin runc uses it directly.
func (e *env) runOnPTY(cmd *exec.Cmd, interactive bool) error {
	ptmx, tty, err := pty.Open()
	if err != nil {
		return failf("allocate a pty: %v", err)
	}
	defer ptmx.Close()
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

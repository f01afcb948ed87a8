package supervisor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrNotRunning: no supervisor holds the state directory's lock.
var ErrNotRunning = errors.New("supervisor: not running")

// Alive reports whether a supervisor holds stateDir's lock.
func Alive(stateDir string) bool {
	f, err := os.OpenFile(filepath.Join(stateDir, lockFile), os.O_RDONLY, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	err = unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
	if err == nil {
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		return false
	}
	return errors.Is(err, unix.EWOULDBLOCK)
}

// Signal asks the supervisor of stateDir to forward sig (e.g. "SIGTERM" or
// "TERM") to the guest command.
func Signal(stateDir, sig string) error {
	name := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(sig)), "SIG")
	if name == "" || strings.ContainsAny(name, " \n") {
		return fmt.Errorf("supervisor: invalid signal %q", sig)
	}
	f, err := os.OpenFile(filepath.Join(stateDir, signalsFIFO), os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, unix.ENXIO) || errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w (%v)", ErrNotRunning, err)
		}
		return err
	}
	defer f.Close()
	_, err = f.WriteString(name + "\n")
	return err
}

func lockState(stateDir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(stateDir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("supervisor: state dir %s already supervised: %w", stateDir, err)
	}
	return f, nil
}

func makeSignalsFIFO(stateDir string) (*os.File, error) {
	p := filepath.Join(stateDir, signalsFIFO)
	_ = os.Remove(p)
	if err := unix.Mkfifo(p, 0o600); err != nil {
		return nil, err
	}
	// Read-write so the FIFO never reports EOF when a writer goes away.
	return os.OpenFile(p, os.O_RDWR, 0)
}

// PID returns the supervisor's process ID recorded in stateDir (0 if none).
func PID(stateDir string) int {
	b, err := os.ReadFile(filepath.Join(stateDir, pidFile))
	if err != nil {
		return 0
	}
	var pid int
	_, _ = fmt.Sscanf(string(b), "%d", &pid)
	return pid
}

package guestsim

import (
	"os/exec"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// procTable tracks the process groups of every guest command, so that
// stopping the guest leaves nothing behind: each command leads its own
// group, and background jobs it starts stay in that group.
type procTable struct {
	mu     sync.Mutex
	groups map[int]struct{}
	closed bool
}

func newProcTable() *procTable { return &procTable{groups: map[int]struct{}{}} }

// start starts cmd in a new process group (or session, when the caller set
// Setsid for a terminal) and records the group. It refuses once the guest is
// stopping, so no command can slip past killAll.
func (t *procTable) start(cmd *exec.Cmd, startFn func() error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return errGuestStopping
	}
	if err := startFn(); err != nil {
		return err
	}
	t.groups[cmd.Process.Pid] = struct{}{}
	return nil
}

// forget drops a group once nothing of it can be running any more (the
// leader was reaped and its members were killed or left alone on purpose).
func (t *procTable) forget(pgid int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.groups, pgid)
}

// killAll kills every tracked group and refuses new commands.
func (t *procTable) killAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	for pgid := range t.groups {
		_ = unix.Kill(-pgid, syscall.SIGKILL)
	}
}

// signalGroup delivers sig to a command's process group.
func signalGroup(pgid int, sig syscall.Signal) error {
	return unix.Kill(-pgid, sig)
}

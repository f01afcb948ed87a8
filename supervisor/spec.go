package supervisor

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"time"
)

// Arg is the default first argument that turns a plugin binary into a
// supervisor (the Tart driver's). Another plugin picks its own with
// Config.Arg and LaunchOptions.Arg, so `ps` tells the supervisors apart.
const Arg = "tart-supervisor"

// Files inside the state directory.
const (
	lockFile    = "supervisor.lock"
	exitFile    = "exit.json"
	signalsFIFO = "signals"
	logFile     = "supervisor.log"
	pidFile     = "supervisor.pid"
)

// Spec is everything the supervisor needs. It travels on stdin because it
// holds secrets (SSH password or key, task environment).
type Spec struct {
	StateDir string // private host directory of the task (not shared into the guest)

	TartBinary string
	TartHome   string
	VM         string

	Transport   string // auto | agent | ssh
	SSHAddr     string // host:port
	SSHUser     string
	SSHPassword string
	SSHKey      []byte
	ConnectWait time.Duration // how long to retry connecting

	Argv []string
	Env  map[string]string
	Dir  string

	StdoutPath string // Nomad's FIFOs (or /dev/null)
	StderrPath string

	// Follow, when set, makes this the log follower of a VM-only task:
	// no guest connection, no command (see Follow).
	Follow *Follow

	// Local, when set, runs a host command instead of a guest command
	// (see Local); the guest fields above are then unused.
	Local *Local
}

// Exit is the outcome written to exit.json.
type Exit struct {
	ExitCode int       `json:"exit_code"`
	Signal   string    `json:"signal,omitempty"` // "TERM"... when killed by a signal
	Err      string    `json:"err,omitempty"`    // the command's outcome is unknown (follow mode: output was lost)
	Finished time.Time `json:"finished"`
	// StderrTail is the end of a local command's stderr (at most
	// stderrTailMax bytes): a driver reads a CLI's own error message there.
	StderrTail string `json:"stderr_tail,omitempty"`
}

// ErrNoExit: the supervisor has not written an outcome (yet).
var ErrNoExit = errors.New("supervisor: no exit status recorded")

// ReadExit returns the recorded outcome in stateDir.
func ReadExit(stateDir string) (Exit, error) {
	b, err := os.ReadFile(filepath.Join(stateDir, exitFile))
	if errors.Is(err, os.ErrNotExist) {
		return Exit{}, ErrNoExit
	}
	if err != nil {
		return Exit{}, err
	}
	var e Exit
	if err := json.Unmarshal(b, &e); err != nil {
		return Exit{}, err
	}
	return e, nil
}

func writeExit(stateDir string, e Exit) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	tmp := filepath.Join(stateDir, exitFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(stateDir, exitFile))
}

// LogPath is where the supervisor's own diagnostics go.
func LogPath(stateDir string) string { return filepath.Join(stateDir, logFile) }

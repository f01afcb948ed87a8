package gitlab

import (
	"errors"
	"fmt"
	"os"
	"strconv"
)

// BuildError is a failure the job author owns (bad image, script exit).
// Everything else a stage returns is a system failure: the runner retries
// prepare and marks the job runner_system_failure.
type BuildError struct {
	// ExitCode is the script's exit code for BUILD_EXIT_CODE_FILE
	// (0 = no script ran, e.g. a refused image).
	ExitCode int
	Err      error
}

func (e *BuildError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return fmt.Sprintf("script exited with code %d", e.ExitCode)
}

func (e *BuildError) Unwrap() error { return e.Err }

// Sentinel causes for system failures, matched with errors.Is, so that the
// job log and tests can tell them apart.
var (
	ErrVMDied        = errors.New("the VM stopped")
	ErrBootTimeout   = errors.New("the VM did not become ready in time")
	ErrSlotTimeout   = errors.New("no VM slot became free in time")
	ErrGuestLost     = errors.New("the connection to the guest was lost")
	ErrNoState       = errors.New("no record of the job's VM")
	ErrCancelTimeout = errors.New("the guest script did not stop after SIGTERM")
)

// ExitCode maps a stage's outcome to the process exit code, using the codes
// the runner gave in the environment. A script's own exit code is written
// to BUILD_EXIT_CODE_FILE so the runner reports it (allow_failure:
// exit_codes).
func ExitCode(j *Job, err error) int {
	if err == nil {
		return 0
	}
	var be *BuildError
	if errors.As(err, &be) {
		if be.ExitCode != 0 && j.BuildExitCodeFile != "" {
			// Best effort: without the file the runner reports the generic code.
			_ = os.WriteFile(j.BuildExitCodeFile, []byte(strconv.Itoa(be.ExitCode)+"\n"), 0o600)
		}
		return j.BuildFailureExitCode
	}
	return j.SystemFailureExitCode
}

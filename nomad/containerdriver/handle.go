package containerdriver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/tartanhq/tartan/applecontainer"
	"github.com/tartanhq/tartan/supervisor"
)

// TaskState is the driver state Nomad persists with the task handle: all a
// new plugin instance needs to reattach without touching the workload.
type TaskState struct {
	ContainerID string
	StateDir    string // the supervisor's (see package supervisor)
	Image       string
	StartedAt   time.Time
	// StartArgs is the attached command the supervisor runs (after the
	// binary), to recognise the CLI's own failures in its stderr.
	StartArgs []string
}

// Timing of the watcher. The supervisor's files are cheap to probe; the
// CLI (inspect) is not, so it is only asked when the supervisor is gone.
const (
	watchInterval   = 100 * time.Millisecond
	inspectInterval = 2 * time.Second
)

type taskHandle struct {
	logger hclog.Logger
	cfg    *drivers.TaskConfig
	state  TaskState
	stats  *statsSampler

	// killed is set when the driver stops the container: an outcome the
	// supervisor could not record is then the driver's stop.
	killed atomic.Bool

	mu          sync.RWMutex
	procState   drivers.TaskState
	exit        *drivers.ExitResult
	completedAt time.Time
	orphaned    bool // the supervisor is gone: tracked through inspect

	done     chan struct{} // closed once exit is set
	stopOnce sync.Once
	stopCh   chan struct{} // ends the watcher (DestroyTask)
}

func newTaskHandle(logger hclog.Logger, cfg *drivers.TaskConfig, st TaskState) *taskHandle {
	return &taskHandle{logger: logger, cfg: cfg, state: st, procState: drivers.TaskStateRunning,
		done: make(chan struct{}), stopCh: make(chan struct{})}
}

func (h *taskHandle) status() *drivers.TaskStatus {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return &drivers.TaskStatus{
		ID: h.cfg.ID, Name: h.cfg.Name, State: h.procState,
		StartedAt: h.state.StartedAt, CompletedAt: h.completedAt, ExitResult: h.exit.Copy(),
		DriverAttributes: map[string]string{"container_id": h.state.ContainerID, "image": h.state.Image},
	}
}

func (h *taskHandle) isRunning() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.procState == drivers.TaskStateRunning
}

func (h *taskHandle) finish(res *drivers.ExitResult) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.exit != nil {
		return
	}
	h.exit = res
	h.procState = drivers.TaskStateExited
	h.completedAt = time.Now()
	close(h.done)
}

func (h *taskHandle) stopWatching() { h.stopOnce.Do(func() { close(h.stopCh) }) }

// inspectFunc reports a container's state (ErrNotFound when it is gone).
type inspectFunc func(ctx context.Context, id string) (applecontainer.State, error)

// watch turns the end of the workload into an ExitResult: the exit status
// the supervisor recorded, or, when the supervisor died without one, the
// container's end seen through inspect (exit status unknown).
func (h *taskHandle) watch(ctx context.Context, inspect inspectFunc) {
	tick := time.NewTicker(watchInterval)
	defer tick.Stop()
	var lastInspect time.Time
	for {
		if res := h.check(ctx, inspect, &lastInspect); res != nil {
			h.finish(res)
			return
		}
		select {
		case <-h.stopCh:
			return
		case <-ctx.Done():
			return // the plugin is shutting down; a new instance recovers the task
		case <-tick.C:
		}
	}
}

// check returns the task's result once it has one.
func (h *taskHandle) check(ctx context.Context, inspect inspectFunc, lastInspect *time.Time) *drivers.ExitResult {
	h.mu.RLock()
	orphaned := h.orphaned
	h.mu.RUnlock()
	if !orphaned {
		res, known := h.fromSupervisor()
		if known {
			return res
		}
		if res == nil && supervisor.Alive(h.state.StateDir) {
			return nil
		}
		// Lock released: exit.json is written before that, so read again.
		if res, known = h.fromSupervisor(); known {
			return res
		}
		h.logger.Warn("the task's supervisor ended without the container's exit status; following the container through `container inspect`",
			"supervisor_log", supervisor.LogPath(h.state.StateDir))
		h.mu.Lock()
		h.orphaned = true
		h.mu.Unlock()
	}
	if time.Since(*lastInspect) < inspectInterval {
		return nil
	}
	*lastInspect = time.Now()
	ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := inspect(ictx, h.state.ContainerID)
	switch {
	case errors.Is(err, applecontainer.ErrNotFound):
		return h.unknownOutcome("the container is gone")
	case err != nil:
		h.logger.Debug("inspecting an orphaned container", "error", err)
		return nil
	case st == applecontainer.StateRunning || st == applecontainer.StateStopping:
		return nil
	}
	return h.unknownOutcome("the container stopped")
}

// fromSupervisor reads exit.json: (result, true) when it tells the
// outcome; (nil, false) when there is none yet; (nil/res, false) when it
// exists but the outcome is unknown (the attached CLI was killed).
func (h *taskHandle) fromSupervisor() (*drivers.ExitResult, bool) {
	e, err := supervisor.ReadExit(h.state.StateDir)
	if errors.Is(err, supervisor.ErrNoExit) {
		return nil, false
	}
	if err != nil {
		return &drivers.ExitResult{ExitCode: -1, Err: fmt.Errorf("reading the container's exit status: %w", err)}, true
	}
	if e.Err != "" {
		// The attached CLI did not report (killed, failed to start): the
		// container may still run; inspect decides.
		h.logger.Warn("the attached container CLI ended without an exit status", "reason", e.Err)
		return &drivers.ExitResult{}, false
	}
	if cliErr := applecontainer.ExecFailure(h.state.StartArgs, e.ExitCode, e.StderrTail); cliErr != nil {
		return &drivers.ExitResult{ExitCode: e.ExitCode, Err: fmt.Errorf("%w: %v", ErrStartFailed, cliErr)}, true
	}
	return &drivers.ExitResult{ExitCode: e.ExitCode}, true
}

// unknownOutcome is the result of a container that ended while nobody
// held its attached CLI: Apple's CLI keeps no exit codes.
func (h *taskHandle) unknownOutcome(what string) *drivers.ExitResult {
	if h.killed.Load() {
		return &drivers.ExitResult{ExitCode: -1, Err: fmt.Errorf("%w: %s after the driver stopped it; its supervisor had died, and Apple's container CLI does not keep exit codes", ErrNoOutcome, what)}
	}
	return &drivers.ExitResult{ExitCode: -1, Err: fmt.Errorf("%w: %s; its supervisor had died (see %s), and Apple's container CLI does not keep exit codes", ErrNoOutcome, what, supervisor.LogPath(h.state.StateDir))}
}

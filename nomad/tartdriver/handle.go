package tartdriver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/tartanhq/tartan/supervisor"
	"github.com/tartanhq/tartan/tart"
)

// TaskState is the driver state Nomad persists with the task handle. It is
// all a new plugin instance needs to reattach: the VM, the `tart run`
// process and the supervisor's state directory (see package supervisor).
type TaskState struct {
	VMName     string
	RunPID     int
	RunLogPath string
	StateDir   string
	HasCommand bool
	// LogFollower: a VM-only task whose output (tart run, serial console)
	// a supervisor in follow mode copies to its stdout log.
	LogFollower bool
	GuestOS     string
	// IP is set for tasks started before the boot moved out of StartTask;
	// newer tasks record it in their task record (RecordPath) once known.
	IP        string
	StartedAt time.Time
	// RunLogOffset is where this run's output starts in RunLogPath (the
	// log is appended across restarts): a VM-only task's end is judged by
	// it.
	RunLogOffset int64
	// RecordPath is the driver's own record of the task (see record.go).
	RecordPath string
}

// watchInterval is how often a task's processes are checked. Processes the
// plugin did not start (after recovery) cannot be waited for, only probed.
const watchInterval = 100 * time.Millisecond

type taskHandle struct {
	logger   hclog.Logger
	cfg      *drivers.TaskConfig
	settings *taskSettings
	state    TaskState
	run      *tart.RunHandle
	vmGone   bool // set at recovery when tart says the VM no longer runs
	// vmEndSeen is when the watcher first saw a VM-only task's VM gone
	// (bounds the wait for the log follower; watcher goroutine only).
	vmEndSeen time.Time
	// killed is set when the driver powers the VM off under a running
	// command (kill_timeout expired): the lost connection is then reported
	// as a SIGKILL, which is what happened to the command.
	killed atomic.Bool

	// The boot (see boot.go): bootDone is closed once it ended (at once
	// for a task that needs none), bootCancel ends it, bootAborted says
	// Stop/Destroy did.
	bootDone    chan struct{}
	bootCancel  context.CancelFunc
	bootAborted atomic.Bool
	// stopRequested: Nomad stopped the task; a VM-only task's end is then
	// not a crash.
	stopRequested atomic.Bool

	mu          sync.RWMutex
	guestIP     string
	procState   drivers.TaskState
	exit        *drivers.ExitResult
	completedAt time.Time

	done     chan struct{} // closed once exit is set
	stopOnce sync.Once
	stopCh   chan struct{} // ends the watcher (DestroyTask)
}

func newTaskHandle(logger hclog.Logger, cfg *drivers.TaskConfig, s *taskSettings, st TaskState, run *tart.RunHandle) *taskHandle {
	booted := make(chan struct{})
	close(booted)
	return &taskHandle{
		logger: logger, cfg: cfg, settings: s, state: st, run: run, guestIP: st.IP,
		bootDone: booted, bootCancel: func() {},
		procState: drivers.TaskStateRunning, done: make(chan struct{}), stopCh: make(chan struct{}),
	}
}

func (h *taskHandle) ip() string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.guestIP
}

func (h *taskHandle) setIP(ip string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.guestIP = ip
}

func (h *taskHandle) status() *drivers.TaskStatus {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return &drivers.TaskStatus{
		ID: h.cfg.ID, Name: h.cfg.Name, State: h.procState,
		StartedAt: h.state.StartedAt, CompletedAt: h.completedAt, ExitResult: h.exit,
		DriverAttributes: map[string]string{"vm": h.state.VMName, "ip": h.guestIP, "guest_os": h.state.GuestOS},
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

// watch turns the end of the workload into an ExitResult: the guest command's
// exit status when there is a command, the VM's end otherwise.
func (h *taskHandle) watch(ctx context.Context) {
	tick := time.NewTicker(watchInterval)
	defer tick.Stop()
	var runDone <-chan struct{}
	if h.run != nil {
		runDone = h.run.Done() // nil for a reattached handle
	}
	for {
		if res := h.check(); res != nil {
			h.finish(res)
			return
		}
		select {
		case <-h.stopCh:
			return
		case <-ctx.Done():
			return // the plugin is shutting down; a new instance recovers the task
		case <-runDone:
			runDone = nil
		case <-tick.C:
		}
	}
}

// check returns the task's result once it has one.
func (h *taskHandle) check() *drivers.ExitResult {
	if h.booting() {
		return nil // the boot reports its own failure
	}
	if !h.state.HasCommand {
		if !h.vmGone && h.run.Alive() {
			return nil
		}
		// The VM's last lines (its power-off) reach the log before the end.
		if !h.followerDone() {
			return nil
		}
		return h.vmEnd()
	}
	if res := h.killedResult(exitFromSupervisor(h.state.StateDir)); res != nil {
		return res
	}
	if supervisor.Alive(h.state.StateDir) {
		return nil
	}
	// Lock released: the exit file is written before that, so read again.
	if res := h.killedResult(exitFromSupervisor(h.state.StateDir)); res != nil {
		return res
	}
	return &drivers.ExitResult{ExitCode: -1, Err: fmt.Errorf("the task's supervisor process died without recording the command's exit status; see %s", supervisor.LogPath(h.state.StateDir))}
}

// killedResult turns "connection lost" into "killed" when the driver itself
// powered the VM off under the command.
func (h *taskHandle) killedResult(res *drivers.ExitResult) *drivers.ExitResult {
	if res == nil || res.Err == nil || !h.killed.Load() {
		return res
	}
	return &drivers.ExitResult{ExitCode: 128 + int(syscall.SIGKILL), Signal: int(syscall.SIGKILL)}
}

func exitFromSupervisor(stateDir string) *drivers.ExitResult {
	e, err := supervisor.ReadExit(stateDir)
	if errors.Is(err, supervisor.ErrNoExit) {
		return nil
	}
	if err != nil {
		return &drivers.ExitResult{ExitCode: -1, Err: fmt.Errorf("reading the command's exit status: %w", err)}
	}
	res := &drivers.ExitResult{ExitCode: e.ExitCode, Signal: signalNumber(e.Signal)}
	if e.Err != "" {
		res.Err = errors.New(e.Err)
	}
	return res
}

// signalNumber maps "TERM" to 15 with the host's numbering.
func signalNumber(name string) int {
	if name == "" {
		return 0
	}
	if s, ok := hostSignals["SIG"+strings.ToUpper(name)]; ok {
		return int(s)
	}
	return 0
}

var hostSignals = map[string]syscall.Signal{
	"SIGABRT": syscall.SIGABRT, "SIGALRM": syscall.SIGALRM, "SIGHUP": syscall.SIGHUP, "SIGINT": syscall.SIGINT,
	"SIGKILL": syscall.SIGKILL, "SIGPIPE": syscall.SIGPIPE, "SIGQUIT": syscall.SIGQUIT, "SIGTERM": syscall.SIGTERM,
	"SIGUSR1": syscall.SIGUSR1, "SIGUSR2": syscall.SIGUSR2,
}

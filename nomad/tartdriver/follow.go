package tartdriver

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/tartanhq/tartan/supervisor"
	"github.com/tartanhq/tartan/tart"
)

// Files of a task's state directory that hold the VM's output.
const (
	runLogName  = "tart-run.log" // tart run's stdout and stderr, appended across restarts
	consoleName = "console.log"  // the guest's serial console (--serial-path), fresh per run
)

// followPlan is what the log follower of a VM-only task copies into the
// task's stdout. It is fixed before `tart run` starts: the console is a
// `tart run` flag, and only run-log output after the current end belongs
// to this run.
type followPlan struct {
	runLog    string
	runLogOff int64
	console   string // "" = no console capture
}

// planFollow returns nil for tasks whose stdout is their command's (and for
// tasks without a stdout FIFO). It creates the console file: tart's
// --serial-path needs an existing file.
func planFollow(cfg *drivers.TaskConfig, s *taskSettings, guestOS, stateDir string) (*followPlan, error) {
	if s.Command != nil || cfg.StdoutPath == "" {
		return nil, nil
	}
	p := &followPlan{runLog: filepath.Join(stateDir, runLogName)}
	if fi, err := os.Stat(p.runLog); err == nil {
		p.runLogOff = fi.Size()
	}
	// Only Linux guests write to the virtio console; macOS does not use it.
	if s.ConsoleLog && guestOS == "linux" && !s.Run.Serial && s.Run.SerialPath == "" {
		p.console = filepath.Join(stateDir, consoleName)
		// Truncated: tart writes the console from the file's start.
		if err := os.WriteFile(p.console, nil, 0o600); err != nil {
			return nil, fmt.Errorf("creating the console log: %w", err)
		}
	}
	return p, nil
}

// startFollower starts the supervisor in follow mode for a running VM;
// await its handshake before reporting the task running.
func (d *Driver) startFollower(p *followPlan, cfg *drivers.TaskConfig, stateDir string, run *tart.RunHandle) (*supervisor.Pending, error) {
	// The console first: within one poll the guest's last words (its
	// power-off) then come before tart's "guest has stopped" line.
	var files []supervisor.FollowFile
	if p.console != "" {
		files = append(files, supervisor.FollowFile{Path: p.console})
	}
	files = append(files, supervisor.FollowFile{Path: p.runLog, Offset: p.runLogOff})
	spec := &supervisor.Spec{StateDir: stateDir, StdoutPath: cfg.StdoutPath, StderrPath: cfg.StderrPath,
		Follow: &supervisor.Follow{RunPID: run.PID, Files: files}}
	ps, err := d.startSupervisor(spec)
	if err != nil {
		return nil, fmt.Errorf("starting the VM's log follower: %w", err)
	}
	return ps, nil
}

// followerDrainWait bounds how long a VM-only task's end waits for its log
// follower to deliver the VM's last lines: a stuck follower (logmon gone)
// must not keep a finished task running.
const followerDrainWait = 10 * time.Second

// followerDone reports whether the VM's output has been delivered, after
// the VM ended. Only the watcher goroutine calls it.
func (h *taskHandle) followerDone() bool {
	if !h.state.LogFollower {
		return true
	}
	if h.vmEndSeen.IsZero() {
		h.vmEndSeen = time.Now()
	}
	e, err := supervisor.ReadExit(h.state.StateDir)
	switch {
	case err == nil:
		if e.Err != "" {
			h.logger.Warn("the VM's log follower did not deliver all output", "error", e.Err)
		}
		return true
	case !errors.Is(err, supervisor.ErrNoExit):
		h.logger.Warn("reading the log follower's result", "error", err)
		return true
	case !supervisor.Alive(h.state.StateDir):
		// Gone without a result: read once more (it writes before unlocking).
		if _, err := supervisor.ReadExit(h.state.StateDir); err != nil {
			h.logger.Warn("the VM's log follower died; the task log may lack the VM's last lines", "log", supervisor.LogPath(h.state.StateDir))
		}
		return true
	case time.Since(h.vmEndSeen) > followerDrainWait:
		h.logger.Warn("the VM's log follower is still running after the VM ended; reporting the end anyway", "waited", followerDrainWait)
		return true
	}
	return false
}

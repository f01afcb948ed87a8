package tartdriver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/tartanhq/tartan/supervisor"
	"github.com/tartanhq/tartan/tart"
)

// The boot of a task's VM (IP, guest, start of the command) belongs to the
// running task, not to StartTask: Nomad cannot cancel StartTask, so a stop
// during a long boot would otherwise wait for the boot to end. StartTask
// returns once `tart run` holds its VM; bootJob does the rest in the
// background and fails the task (WaitTask) with the same messages
// StartTask used to return. StopTask and DestroyTask cancel it.

// ipPollWait bounds each `tart ip --wait` call: the plugin polls in short
// calls so that no `tart ip` outlives a killed plugin by more than this.
const ipPollWait = 2 * time.Second

// bootAbortWait bounds how long Stop/Destroy wait for a cancelled boot.
const bootAbortWait = 5 * time.Second

type bootJob struct {
	d        *Driver
	client   *tart.Client
	tartHome string
	cfg      *drivers.TaskConfig
	s        *taskSettings
	h        *taskHandle
	follower *supervisor.Pending // nil after a recovery
}

// startBoot runs the boot in the background. Call before the handle is
// visible to the watcher.
func (j *bootJob) start() {
	ctx, cancel := context.WithCancel(j.d.ctx)
	j.h.bootCancel = cancel
	j.h.bootDone = make(chan struct{})
	go func() {
		defer close(j.h.bootDone)
		defer cancel()
		err := j.run(ctx)
		switch {
		case err == nil:
		case j.d.ctx.Err() != nil:
			// The plugin is shutting down: its next instance resumes the boot.
		case j.h.bootAborted.Load():
			j.d.emit(j.cfg, "Boot cancelled: the task was stopped while its VM booted", nil)
			if j.s.Command != nil {
				// The command never started: it counts as killed. A VM-only
				// task's end is the VM's (the watcher reports it).
				j.h.finish(&drivers.ExitResult{ExitCode: 128 + int(syscall.SIGKILL), Signal: int(syscall.SIGKILL)})
			}
		default:
			j.d.emit(j.cfg, "Start failed: "+err.Error(), nil)
			j.h.logger.Error("booting the task's VM", "error", err)
			j.h.finish(&drivers.ExitResult{ExitCode: 1, Err: err})
		}
	}()
}

func (j *bootJob) run(ctx context.Context) error {
	h := j.h
	ip := h.ip()
	if ip == "" {
		var err error
		if ip, err = j.waitIP(ctx); err != nil {
			return err
		}
		h.setIP(ip)
		if err := writeRecord(h.state.RecordPath, recordFor(j.s, ip)); err != nil {
			return err
		}
		j.d.emit(j.cfg, fmt.Sprintf("VM %s got IP address %s", h.state.VMName, ip), map[string]string{"ip": ip})
	}
	if j.follower != nil {
		if _, err := j.follower.Await(); err != nil {
			return fmt.Errorf("starting the VM's log follower: %w", err)
		}
	}
	switch {
	case j.s.Command != nil:
		if commandStarted(h.state.StateDir) {
			break // a resumed boot whose command was already handed over
		}
		j.d.emit(j.cfg, "Waiting for the guest to accept commands", nil)
		if err := j.startCommand(ctx, ip); err != nil {
			return err
		}
	case j.s.Transport != transportAuto:
		// A VM-only task with an explicit transport is ready once its guest
		// accepts commands (readiness for exec and checks). With "auto" an
		// image may offer neither agent nor SSH: the IP is enough.
		if _, _, err := j.waitGuest(ctx, ip); err != nil {
			return err
		}
	}
	j.d.emit(j.cfg, fmt.Sprintf("VM %s running at %s", h.state.VMName, ip), map[string]string{"vm": h.state.VMName, "ip": ip})
	return nil
}

// commandStarted: the supervisor of the command runs or has finished.
func commandStarted(stateDir string) bool {
	if supervisor.Alive(stateDir) {
		return true
	}
	_, err := supervisor.ReadExit(stateDir)
	return err == nil
}

// deadline is the end of ready_timeout, counted from the VM's start.
func (j *bootJob) deadline() time.Time { return j.h.state.StartedAt.Add(j.s.ReadyTimeout) }

// waitIP waits for the guest's address within ready_timeout, giving up at
// once if the VM dies.
func (j *bootJob) waitIP(ctx context.Context) (string, error) {
	ctx, cancel := context.WithDeadline(ctx, j.deadline())
	defer cancel()
	run := j.h.run
	ctx, stopWatch := run.Watch(ctx)
	defer stopWatch()
	resolver := tart.ResolverDefault
	if j.s.Run.Net.Mode == tart.NetBridged {
		resolver = tart.ResolverARP
	}
	var err error
	for ctx.Err() == nil && run.Alive() {
		wait := min(time.Until(j.deadline()), ipPollWait)
		if wait <= 0 {
			break
		}
		var ip string
		ip, err = j.client.IP(ctx, j.h.state.VMName, tart.IPOptions{Wait: wait, Resolver: resolver})
		if err == nil {
			return ip, nil
		}
		if !errors.Is(err, tart.ErrNoIP) && ctx.Err() == nil && run.Alive() {
			// Not "no IP yet": tart cannot answer at all (VM gone, bad flags).
			break
		}
	}
	if exit := run.ExitError(); exit != nil {
		if errors.Is(exit, tart.ErrVMLimit) {
			return "", fmt.Errorf("%w: %w", ErrNoSlot, exit)
		}
		return "", fmt.Errorf("%w before it got an IP address (tart run exit %d): %s", ErrVMDied, run.ExitCode(), run.LogTail(5))
	}
	if !run.Alive() {
		return "", fmt.Errorf("%w before it got an IP address: %s", ErrVMDied, run.LogTail(5))
	}
	if parent := context.Cause(ctx); parent != nil && !errors.Is(parent, context.DeadlineExceeded) {
		return "", parent
	}
	return "", fmt.Errorf("the VM got no IP address within ready_timeout (%s); check its networking (DHCP lease exhaustion is common, see docs): %v", j.s.ReadyTimeout, err)
}

// waitGuest waits, within ready_timeout, until the guest accepts commands
// (proving the transport and its credentials), failing at once if the VM
// dies.
func (j *bootJob) waitGuest(ctx context.Context, ip string) (guestTarget, time.Duration, error) {
	wait := max(time.Until(j.deadline()), min(j.s.ReadyTimeout, 5*time.Second))
	cctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	run := j.h.run
	cctx, stopWatch := run.Watch(cctx)
	defer stopWatch()
	t := j.s.target(j.h.state.VMName, ip)
	tr, err := connectGuest(cctx, j.client, t, wait)
	if err != nil {
		if !run.Alive() {
			return t, wait, fmt.Errorf("%w while connecting to the guest: %s", ErrVMDied, run.LogTail(5))
		}
		if ctx.Err() != nil {
			return t, wait, ctx.Err()
		}
		return t, wait, fmt.Errorf("the guest did not accept commands within ready_timeout (%s): %w", j.s.ReadyTimeout, err)
	}
	_ = tr.Close()
	return t, wait, nil
}

// startCommand checks that the guest answers, then hands the command to a
// supervisor that outlives this plugin.
func (j *bootJob) startCommand(ctx context.Context, ip string) error {
	t, wait, err := j.waitGuest(ctx, ip)
	if err != nil {
		return err
	}
	st := j.h.state
	spec := &supervisor.Spec{
		StateDir: st.StateDir, TartBinary: j.client.Binary(), TartHome: j.tartHome, VM: st.VMName,
		Transport: t.Transport, SSHUser: t.SSHUser, SSHPassword: t.SSHPassword, SSHKey: t.SSHKey,
		SSHAddr: joinHostPort(ip, t.SSHPort), ConnectWait: wait,
		Argv: j.s.Command, Env: guestEnv(j.cfg, st.GuestOS), Dir: guestWorkDir(j.s, st.GuestOS),
		StdoutPath: j.cfg.StdoutPath, StderrPath: j.cfg.StderrPath,
	}
	if spec.StdoutPath == "" {
		spec.StdoutPath, spec.StderrPath = os.DevNull, os.DevNull
	}
	_, err = j.d.launchSupervisor(spec)
	return err
}

// abortBoot cancels a running boot and waits (bounded) for it to end. It
// reports whether the task was still booting.
func (h *taskHandle) abortBoot() bool {
	select {
	case <-h.bootDone:
		return false
	default:
	}
	h.bootAborted.Store(true)
	h.bootCancel()
	select {
	case <-h.bootDone:
	case <-time.After(bootAbortWait):
		h.logger.Warn("the cancelled boot did not end in time", "waited", bootAbortWait)
	}
	return true
}

// booting reports whether the VM's boot is still in progress.
func (h *taskHandle) booting() bool {
	select {
	case <-h.bootDone:
		return false
	default:
		return true
	}
}

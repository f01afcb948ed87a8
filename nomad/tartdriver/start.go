package tartdriver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/tartanhq/tartan/nomad/driverkit"
	"github.com/tartanhq/tartan/slots"
	"github.com/tartanhq/tartan/supervisor"
	"github.com/tartanhq/tartan/tart"
)

// stateDirName is the driver's private directory inside the task dir. It is
// not one of the shared directories, so the guest cannot see it.
const stateDirName = ".tartdriver"

// StartTask creates and boots the task's VM and, when the task has a
// command, starts it in the guest under a supervisor.
func (d *Driver) StartTask(cfg *drivers.TaskConfig) (*drivers.TaskHandle, *drivers.DriverNetwork, error) {
	if _, ok := d.tasks.Get(cfg.ID); ok {
		return nil, nil, fmt.Errorf("task with ID %q already started", cfg.ID)
	}
	h, net, err := d.startTask(cfg)
	if err != nil {
		return nil, nil, driverkit.StartFailed(d.eventer, d.logger, cfg, err)
	}
	return h, net, nil
}

func (d *Driver) startTask(cfg *drivers.TaskConfig) (*drivers.TaskHandle, *drivers.DriverNetwork, error) {
	pc, client, pool, err := d.snapshot()
	if err != nil {
		return nil, nil, structs.NewRecoverableError(err, true)
	}
	var tc TaskConfig
	if err := cfg.DecodeDriverConfig(&tc); err != nil {
		return nil, nil, fmt.Errorf("%w: decoding task config: %v", ErrBadConfig, err)
	}
	s, err := resolveIn(&tc, pc, cfg.TaskDir().Dir)
	if err != nil {
		return nil, nil, err
	}
	name := vmName(cfg.AllocID, cfg.Name)
	d.inFlight.Store(name, true)
	defer d.inFlight.Delete(name)
	ctx := d.ctx

	stateDir := filepath.Join(cfg.TaskDir().Dir, stateDirName)
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("creating the driver's task directory: %w", err)
	}
	// A supervisor or its result left from an earlier run of this task (its
	// VM is gone) must neither hold the state directory nor be read as ours.
	if supervisor.Alive(stateDir) {
		stopSupervisor(stateDir)
	}
	_ = os.Remove(filepath.Join(stateDir, "exit.json"))

	if err := d.pullImage(ctx, client, cfg, s); err != nil {
		return nil, nil, err
	}
	b := &vmBuild{d: d, pc: pc, client: client, name: name, cfg: cfg}
	defer b.cleanupOnFailure()
	wt, err := d.warmFor(pc, client, cfg, s, &tc)
	if err != nil {
		return nil, nil, err
	}
	var slot *slots.Slot
	if wt != nil {
		// A warm start needs the reserved slot first: it picks the snapshot.
		if slot, err = d.takeSlotWarm(pc, client, pool, slots.KindMacOS, cfg); err != nil {
			return nil, nil, err
		}
		defer func() { _ = slot.Release() }() // tart run holds its own copy for the VM's lifetime
		wt.cloneWarm(ctx, b, cfg, s)
	}
	info, run, err := b.cloneAndStart(ctx, s, wt, pool, slot, stateDir)
	if err != nil {
		return nil, nil, err
	}
	if err := b.startFollower(run); err != nil {
		return nil, nil, err
	}

	st := TaskState{VMName: name, RunPID: run.PID, RunLogPath: run.LogPath, RunLogOffset: b.runLogOff, StateDir: stateDir,
		HasCommand: s.Command != nil, LogFollower: b.follower != nil, GuestOS: info.OS, StartedAt: time.Now(),
		RecordPath: recordPath(pc, name)}
	if err := writeRecord(st.RecordPath, recordFor(s, "")); err != nil {
		return nil, nil, err
	}
	handle := drivers.NewTaskHandle(taskHandleVersion)
	handle.Config = cfg
	handle.State = drivers.TaskStateRunning
	if err := handle.SetDriverState(&st); err != nil {
		_ = os.Remove(st.RecordPath)
		return nil, nil, fmt.Errorf("encoding driver state: %w", err)
	}
	b.ok = true // from here on the VM is the task's: DestroyTask deletes it

	th := newTaskHandle(d.logger.With("task", cfg.Name, "vm", name), cfg, s, st, run)
	job := &bootJob{d: d, client: client, tartHome: pc.TartHome, cfg: cfg, s: s, h: th, follower: b.follower}
	job.start()
	d.tasks.Set(cfg.ID, th)
	if wt != nil {
		warmTasks.Store(cfg.ID, wt) // DestroyTask rebuilds the slot's snapshot
	}
	go th.watch(d.ctx)
	d.emit(cfg, fmt.Sprintf("VM %s started; waiting for it to boot (ready_timeout %s)", name, s.ReadyTimeout), map[string]string{"vm": name})
	// No DriverNetwork: the guest's IP is not known yet (see docs, "address_mode").
	return handle, nil, nil
}

// pullImage applies the pull policy to remote images.
func (d *Driver) pullImage(ctx context.Context, c *tart.Client, cfg *drivers.TaskConfig, s *taskSettings) error {
	if !tart.IsRemoteName(s.Image) || s.PullPolicy == pullNever {
		return nil
	}
	if s.PullPolicy == pullMissing {
		cached, err := imageCached(ctx, c, s.Image)
		if err != nil {
			return fmt.Errorf("listing cached images: %w", err)
		}
		if cached {
			return nil
		}
	}
	d.emit(cfg, "Pulling image "+s.Image, map[string]string{"image": s.Image})
	pctx, cancel := context.WithTimeout(ctx, s.PullTimeout)
	defer cancel()
	start := time.Now()
	err := c.Pull(pctx, s.Image, tart.PullOptions{Credentials: s.Credentials, Progress: d.progress(cfg, "Pulling "+s.Image)})
	if err != nil {
		if pctx.Err() == context.DeadlineExceeded {
			return fmt.Errorf("pulling %s took longer than image_pull_timeout (%s); raise it or pre-pull the image with `tart pull`: %w", s.Image, s.PullTimeout, err)
		}
		return explainTartError("pulling "+s.Image, err)
	}
	d.emit(cfg, fmt.Sprintf("Pulled image %s in %s", s.Image, time.Since(start).Round(time.Second)), nil)
	return nil
}

func imageCached(ctx context.Context, c *tart.Client, image string) (bool, error) {
	entries, err := c.List(ctx, tart.ListOptions{Source: "oci"})
	if err != nil {
		return false, err
	}
	want := image
	if !strings.Contains(lastPathElem(image), ":") && !strings.Contains(image, "@") {
		want += ":latest"
	}
	for _, e := range entries {
		if e.Name == image || e.Name == want {
			return true, nil
		}
	}
	return false, nil
}

const progressStep = 25

func lastPathElem(s string) string { return s[strings.LastIndex(s, "/")+1:] }

// progress turns tart's progress lines into task events, at most one per
// 25 % step: Nomad keeps only the last 10 events of a task, and the pull
// must not push the interesting ones out.
func (d *Driver) progress(cfg *drivers.TaskConfig, what string) func(string) {
	last := -progressStep
	return func(line string) {
		line = strings.TrimSpace(line)
		pct, err := strconv.Atoi(strings.TrimSuffix(line, "%"))
		if err != nil || !strings.HasSuffix(line, "%") {
			return
		}
		if pct >= last+progressStep || (pct == 100 && last != 100) {
			last = pct
			d.emit(cfg, fmt.Sprintf("%s: %d%%", what, pct), nil)
		}
	}
}

// explainTartError adds what to do to the tart errors users cause.
func explainTartError(what string, err error) error {
	switch {
	case errors.Is(err, tart.ErrAuth):
		return fmt.Errorf("%s: registry refused the credentials; set auth { username password } in the task or plugin config: %w", what, err)
	case errors.Is(err, tart.ErrVMNotFound), strings.Contains(err.Error(), "code: 404"):
		return fmt.Errorf("%s: no such image or VM; check the image name (remote images look like ghcr.io/org/name:tag): %w", what, err)
	case errors.Is(err, tart.ErrDiskFull):
		return structs.NewRecoverableError(fmt.Errorf("%s: not enough free disk in TART_HOME; prune with `tart prune` or free space: %w", what, err), true)
	case errors.Is(err, tart.ErrVMLimit):
		return structs.NewRecoverableError(fmt.Errorf("%s: %w", what, err), true)
	}
	return fmt.Errorf("%s: %w", what, err)
}

package tartdriver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/tartanhq/tartan/slots"
	"github.com/tartanhq/tartan/supervisor"
	"github.com/tartanhq/tartan/tart"
)

// vmBuild carries one StartTask through clone, configure, run and boot, and
// deletes the VM again if any step fails.
type vmBuild struct {
	d      *Driver
	pc     *PluginConfig
	client *tart.Client
	name   string
	cfg    *drivers.TaskConfig
	cloned bool
	ok     bool
	run    *tart.RunHandle
	// follow is the VM's output for the log follower of a VM-only task
	// (nil: none); follower is the started follower process.
	follow   *followPlan
	follower *supervisor.Pending
	stateDir string
	// runLogOff is where this run's output starts in the run log.
	runLogOff int64
}

func (b *vmBuild) clone(ctx context.Context, s *taskSettings) error {
	// A VM of this name can only be left over from an earlier attempt of
	// this very task whose cleanup failed: replace it.
	if err := removeVM(ctx, b.client, b.name); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, s.PullTimeout)
	defer cancel()
	b.d.emit(b.cfg, fmt.Sprintf("Cloning %s into VM %s", s.Image, b.name), nil)
	var err error
	for attempt := 1; attempt <= cloneAttempts; attempt++ {
		err = b.client.Clone(cctx, s.Image, b.name, tart.CloneOptions{Credentials: s.Credentials, Progress: b.d.progress(b.cfg, "Pulling "+s.Image)})
		if err == nil || !transientCloneError(err) || cctx.Err() != nil {
			break
		}
		b.d.logger.Warn("clone failed, retrying", "vm", b.name, "attempt", attempt, "error", err)
	}
	if err != nil {
		return explainTartError(fmt.Sprintf("cloning %s", s.Image), err)
	}
	b.cloned = true
	return nil
}

// cloneAttempts: a clone can lose its temporary directory to the tmp/
// garbage collection that every concurrent tart command runs (seen under
// load with tart-sim); such generic failures are retried, classified ones
// (auth, missing image, full disk) are not.
const cloneAttempts = 3

func transientCloneError(err error) bool {
	return errors.Is(err, tart.ErrFailed) && !errors.Is(err, tart.ErrAuth) &&
		!errors.Is(err, tart.ErrVMNotFound) && !errors.Is(err, tart.ErrDiskFull) && !strings.Contains(err.Error(), "code: 404")
}

func (b *vmBuild) configure(ctx context.Context, s *taskSettings, info tart.VMInfo) error {
	totalMHz, cores := b.d.hostCompute()
	size := sizeVM(s.CPU, s.MemoryMB, b.cfg.Resources, totalMHz, cores)
	for _, n := range size.Notes {
		b.d.emit(b.cfg, n, nil)
	}
	// Sizes derived from the resources block only ever grow the image: the
	// image's own size is its minimum (tart refuses fewer CPUs than the
	// image needs, and a guest tuned for 8 GB should not get Nomad's 300 MB
	// default). Explicit cpu / memory options are applied as given.
	if s.CPU == 0 && size.CPU > 0 && size.CPU < info.CPU {
		size.CPU = 0
	}
	if s.MemoryMB == 0 && size.MemoryMB > 0 && size.MemoryMB < info.Memory {
		size.MemoryMB = 0
	}
	o := tart.SetOptions{Display: s.Display, RandomMAC: s.RandomMAC}
	if size.CPU > 0 && size.CPU != info.CPU {
		o.CPU = size.CPU
	}
	if size.MemoryMB > 0 && size.MemoryMB != info.Memory {
		o.MemoryMB = size.MemoryMB
	}
	if s.DiskSizeGB > 0 {
		if s.DiskSizeGB < info.Disk {
			return badOption("disk_size", fmt.Sprint(s.DiskSizeGB), "is smaller than the image's %d GB disk; disks can only grow", info.Disk)
		}
		if s.DiskSizeGB > info.Disk {
			o.DiskSizeGB = s.DiskSizeGB
		}
	}
	if o == (tart.SetOptions{}) {
		return nil
	}
	if err := b.client.Set(ctx, b.name, o); err != nil {
		return explainTartError("configuring the VM", err)
	}
	return nil
}

// taskShares are Nomad's task directories, shared into the guest.
func taskShares(cfg *drivers.TaskConfig) []tart.Share {
	td := cfg.TaskDir()
	return []tart.Share{
		{Name: "alloc", Path: td.SharedAllocDir},
		{Name: "local", Path: td.LocalDir},
		{Name: "secrets", Path: td.SecretsDir},
	}
}

func (b *vmBuild) start(ctx context.Context, s *taskSettings, guestOS string, slot *slots.Slot, stateDir string) (*tart.RunHandle, error) {
	o := s.Run
	o.Dirs = append(taskShares(b.cfg), o.Dirs...)
	o.LogPath = filepath.Join(stateDir, runLogName)
	b.stateDir = stateDir
	if fi, err := os.Stat(o.LogPath); err == nil {
		b.runLogOff = fi.Size()
	}
	follow, err := planFollow(b.cfg, s, guestOS, stateDir)
	if err != nil {
		return nil, err
	}
	if follow != nil && follow.console != "" {
		o.SerialPath = follow.console
	}
	o.ExtraFiles = []*os.File{slot.File()}
	// No settle wait: waitIP watches the VM and classifies an early death
	// (the VM limit included) from the run log.
	o.StartSettle = -1
	if o.Net.Mode == tart.NetSoftnet {
		o.Net.SoftnetExpose = append(o.Net.SoftnetExpose, softnetExposeFromPorts(b.cfg)...)
	}
	if guestOS == "linux" {
		o.Suspendable = false // tart refuses it for Linux guests
	}
	run, err := b.client.Run(ctx, b.name, o)
	if err != nil {
		return nil, explainTartError("starting the VM", err)
	}
	b.run = run
	b.follow = follow
	return run, nil
}

// startFollower starts copying a VM-only task's VM output to its stdout
// log, right after the VM started: a slow boot shows in `nomad alloc logs`
// while StartTask still waits for the guest.
func (b *vmBuild) startFollower(run *tart.RunHandle) error {
	if b.follow == nil {
		return nil
	}
	ps, err := b.d.startFollower(b.follow, b.cfg, b.stateDir, run)
	if err != nil {
		return err
	}
	b.follower = ps
	return nil
}

// softnetExposeFromPorts maps Nomad's port labels to Softnet forwards
// host port -> guest port.
func softnetExposeFromPorts(cfg *drivers.TaskConfig) []string {
	if cfg.Resources == nil || cfg.Resources.Ports == nil {
		return nil
	}
	var out []string
	for _, p := range *cfg.Resources.Ports {
		to := p.To
		if to <= 0 {
			to = p.Value
		}
		out = append(out, fmt.Sprintf("%d:%d", p.Value, to))
	}
	return out
}

// guestEnv is the task's environment with Nomad's directory variables
// pointing at the shares inside the guest.
func guestEnv(cfg *drivers.TaskConfig, guestOS string) map[string]string {
	env := make(map[string]string, len(cfg.Env)+3)
	for k, v := range cfg.Env {
		env[k] = v
	}
	env["NOMAD_ALLOC_DIR"] = tart.GuestSharePath(guestOS, "alloc")
	env["NOMAD_TASK_DIR"] = tart.GuestSharePath(guestOS, "local")
	env["NOMAD_SECRETS_DIR"] = tart.GuestSharePath(guestOS, "secrets")
	return env
}

// guestWorkDir defaults to the task's local directory, like the exec driver.
func guestWorkDir(s *taskSettings, guestOS string) string {
	if s.WorkDir != "" {
		return s.WorkDir
	}
	return tart.GuestSharePath(guestOS, "local")
}

// cleanupOnFailure stops and deletes the VM when StartTask did not finish.
func (b *vmBuild) cleanupOnFailure() {
	if b.ok || !b.cloned {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := removeVM(ctx, b.client, b.name); err != nil {
		b.d.logger.Warn("removing VM of failed start", "vm", b.name, "error", err)
	}
	if b.follower != nil {
		// It delivers the dead VM's last lines, then ends with tart run.
		// Awaited first: before its handshake it holds no lock to probe.
		if _, err := b.follower.Await(); err == nil {
			stopSupervisor(b.stateDir)
		}
	}
}

// removeVM stops (hard) and deletes a VM; a missing VM is success.
func removeVM(ctx context.Context, c *tart.Client, name string) error {
	err := c.Delete(ctx, name)
	if err == nil || errors.Is(err, tart.ErrVMNotFound) {
		return nil
	}
	if !errors.Is(err, tart.ErrVMRunning) {
		return fmt.Errorf("deleting VM %s: %w", name, err)
	}
	if err := c.Stop(ctx, name, 5*time.Second); err != nil && !errors.Is(err, tart.ErrNotRunning) && !errors.Is(err, tart.ErrVMNotFound) {
		return fmt.Errorf("stopping VM %s: %w", name, err)
	}
	if err := c.Delete(ctx, name); err != nil && !errors.Is(err, tart.ErrVMNotFound) {
		return fmt.Errorf("deleting VM %s: %w", name, err)
	}
	return nil
}

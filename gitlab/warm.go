package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/tartanhq/tartan/guest"
	"github.com/tartanhq/tartan/slots"
	"github.com/tartanhq/tartan/tart"
	"github.com/tartanhq/tartan/warm"
)

// Warm starts (docs/warm-start.md), off unless warm_start is set: a macOS
// job resumes the suspended snapshot of the slot it holds instead of
// booting. Prepare takes the slot first when the image has snapshots;
// cleanup starts a detached `warm-build` process that builds (or keeps)
// the snapshot of the slot the job just released.

const warmBuildStage = "warm-build"

// warmUnusedFor: snapshots nobody resumed for this long are deleted.
const warmUnusedFor = 7 * 24 * time.Hour

func (st *Stage) warmManager() (*warm.Manager, error) {
	s := st.Settings
	return warm.New(warm.Options{Tart: st.Tart, Dir: s.WarmDir, BudgetGB: s.WarmBudgetGB,
		ResumeTimeout: s.IPTimeout + s.ReadyTimeout,
		Logf:          func(format string, a ...any) { st.Log.Printf(format, a...) }})
}

// warmSpec is what a snapshot for this job's settings is built from.
func (st *Stage) warmSpec(image string, dirs []tart.Share, creds *tart.Credentials) (warm.Spec, error) {
	s := st.Settings
	script := ""
	if s.WarmUpScript != "" {
		b, err := os.ReadFile(s.WarmUpScript)
		if err != nil {
			return warm.Spec{}, fmt.Errorf("warm_up_script: %w", err)
		}
		script = string(b)
	}
	o := st.setOptions()
	o.RandomMAC = false
	return warm.Spec{Image: image, Shares: dirs, WarmUp: script, Credentials: creds,
		ConfigKey: fmt.Sprintf("%+v", o),
		Configure: func(ctx context.Context, vm string) error {
			c := *st
			c.VM = vm
			return c.configureVM(ctx)
		}}, nil
}

func hasSnapshotOf(m *warm.Manager, image string) bool {
	snaps, _ := m.Snapshots()
	for _, sn := range snaps {
		if sn.Image == image {
			return true
		}
	}
	return false
}

// prepareWarm prepares a job whose image has snapshots (so it is a macOS
// image): slot first, then warm.Manager.Start (resume, or cold through the
// executor's own clone and configure). handled=false: take the normal path.
func (st *Stage) prepareWarm(ctx context.Context, image string, rec *Record, p jobPaths, start time.Time) (bool, error) {
	s, log := st.Settings, st.Log
	m, err := st.warmManager()
	if err != nil {
		log.Warnf("warm starts unavailable: %v", err)
		return false, nil
	}
	if !hasSnapshotOf(m, image) {
		return false, nil
	}
	const guestOS = "darwin"
	demand, err := m.Want() // a snapshot build in our way yields its slot
	if err != nil {
		return true, err
	}
	slot, err := st.acquireSlot(ctx, guestOS)
	demand.Release()
	if err != nil {
		return true, err
	}
	defer func() { _ = slot.Release() }() // our copy: tart run keeps its own
	runnerBin := st.guestRunnerBinary(guestOS)
	// Share tags are part of the saved state: per slot, not per job.
	mounts, err := mountsFor(s, p, warmTagID(slot.Number()), runnerBin != "")
	if err != nil {
		return true, err
	}
	opts, err := st.runOptions(mounts, p.RunLog)
	if err != nil {
		return true, err
	}
	opts.ExtraFiles = []*os.File{slot.File()}
	st.noteWarmSlot(image, guestOS, slot.Number())
	creds := RegistryCredentials(image, st.Job.Var)
	maskCreds(log, creds)
	spec, err := st.warmSpec(image, opts.Dirs, creds)
	if err != nil {
		return true, err
	}
	var mode, ip string
	var run *tart.RunHandle
	resumedOnce := false
	t := time.Now()
	started, err := m.Start(ctx, warm.StartRequest{Spec: spec, Slot: warm.SlotID(slot.Number()), VM: st.VM, Run: opts,
		Cold: func(ctx context.Context) error {
			err := st.Tart.Clone(ctx, image, st.VM, tart.CloneOptions{Concurrency: s.PullConcurrency,
				Insecure: insecureRegistry(s, image), Credentials: creds, Progress: progressLogger(log)})
			if err != nil {
				return pullError(image, err)
			}
			return st.configureVM(ctx)
		},
		Connect: func(ctx context.Context, vm string, h *tart.RunHandle) (guest.Transport, error) {
			run = h
			_ = slot.SetPID(h.PID)
			rec.RunPID, rec.RunLog, rec.GuestOS = h.PID, h.LogPath, guestOS
			rec.RunStart, _ = processStart(h.PID)
			_ = saveRecord(s.StateDir, rec)
			// The first connect is the resume attempt when a snapshot was
			// found (else a cold boot polled a little faster: harmless).
			st.resuming = !resumedOnce
			resumedOnce = true
			tr, md, addr, err := st.waitReady(ctx, h, guestOS)
			st.resuming = false
			mode, ip = md, addr
			return tr, err
		}})
	if err != nil {
		if run == nil {
			return true, err
		}
		return true, st.runFailed(err, p.RunLog)
	}
	tr := started.Transport
	defer tr.Close()
	rec.Transport, rec.IP = mode, ip
	if v, err := st.Tart.Version(ctx); err == nil {
		rec.TartVersion = v.Raw
	}
	if err := saveRecord(s.StateDir, rec); err != nil {
		return true, err
	}
	if started.Warm {
		log.Printf("VM %s resumed from snapshot %s in %s", st.VM, started.Snapshot, since(t))
	} else {
		if started.Fallback != nil {
			log.Warnf("Warm start failed, booted cold: %v", started.Fallback)
		}
		log.Printf("VM %s booted in %s", st.VM, since(t))
	}
	if err := st.setupGuest(ctx, tr, guestOS, mounts, runnerBin); err != nil {
		if errors.Is(err, ErrGuestLost) || !started.Run.Alive() {
			return true, st.vmDiedError(started.Run.LogPath, err)
		}
		return true, err
	}
	log.Printf("Prepared VM %s in %s", st.VM, since(start))
	return true, nil
}

// warmTagID replaces the job ID in the share tags of warm VMs: a saved
// state only resumes with the devices it was saved with.
func warmTagID(slot int) string { return "warm" + strconv.Itoa(slot) }

// warmNote is <warm_dir>/jobs/<vm>.json: what cleanup needs to rebuild
// the slot's snapshot after the job.
type warmNote struct {
	Image string   `json:"image"`
	Slot  int      `json:"slot"`
	Args  []string `json:"args"` // the stage's settings flags
}

func (st *Stage) warmNotePath() string {
	return filepath.Join(st.Settings.WarmDir, "jobs", st.VM+".json")
}

// noteWarmSlot records a macOS job's slot (Linux guests cannot suspend).
func (st *Stage) noteWarmSlot(image, guestOS string, slot int) {
	if guestOS != "darwin" {
		return
	}
	if err := os.MkdirAll(filepath.Dir(st.warmNotePath()), 0o700); err != nil {
		return
	}
	b, _ := json.Marshal(warmNote{Image: image, Slot: slot, Args: st.settingsArgs})
	_ = os.WriteFile(st.warmNotePath(), b, 0o600)
}

// warmAfterCleanup starts the detached snapshot build for the slot this
// job released. It never fails the cleanup.
func (st *Stage) warmAfterCleanup() {
	b, err := os.ReadFile(st.warmNotePath())
	if err != nil {
		return
	}
	_ = os.Remove(st.warmNotePath())
	var n warmNote
	if json.Unmarshal(b, &n) != nil {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		st.Log.Warnf("warm snapshot build not started: %v", err)
		return
	}
	logPath := filepath.Join(st.Settings.WarmDir, "logs", "gitlab-build.log")
	_ = os.MkdirAll(filepath.Dir(logPath), 0o700)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		st.Log.Warnf("warm snapshot build not started: %v", err)
		return
	}
	defer logf.Close()
	args := append(append([]string{warmBuildStage}, n.Args...), n.Image, strconv.Itoa(n.Slot))
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives the cleanup stage
	if err := cmd.Start(); err != nil {
		st.Log.Warnf("warm snapshot build not started: %v", err)
		return
	}
	_ = cmd.Process.Release()
}

// runWarmBuild is the detached `warm-build [settings flags] <image> <slot>`
// process: sweep, then build the slot's snapshot if the slot is free and
// nobody waits for one.
func runWarmBuild(args []string, stderr io.Writer) int {
	log := NewLog(stderr)
	s, rest, err := LoadSettings(args)
	if err != nil || len(rest) != 2 {
		log.Errorf("warm-build [settings flags] <image> <slot>: %v %q", err, rest)
		return 2
	}
	image := rest[0]
	n, err := strconv.Atoi(rest[1])
	if err != nil {
		log.Errorf("warm-build: slot %q: %v", rest[1], err)
		return 2
	}
	tartTmp := filepath.Join(s.StateDir, "tmp")
	c, err := tart.New(tart.Options{Binary: s.TartBinary, Home: s.TartHome, NoAutoPrune: !s.AutoPrune, Env: []string{"CI=1", "TMPDIR=" + tartTmp}})
	if err != nil {
		log.Errorf("warm-build: %v", err)
		return 1
	}
	st := &Stage{Settings: s, Log: log, Tart: c, Job: &Job{ID: "warm"}, settingsArgs: args[:len(args)-2]}
	m, err := st.warmManager()
	if err != nil {
		log.Errorf("warm-build: %v", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.IPTimeout+s.ReadyTimeout+30*time.Minute)
	defer cancel()
	if _, err := m.Sweep(ctx, warm.SweepOptions{UnusedFor: warmUnusedFor}); err != nil {
		log.Warnf("warm-build: sweep: %v", err)
	}
	// The shares get the job's names on stable per-slot host directories.
	p := jobPaths{JobDir: filepath.Join(s.WarmDir, "shares", warm.SlotID(n))}
	p.RunLog = filepath.Join(p.JobDir, "tart-run.log")
	if s.HostBuildsDir == perJobBuilds {
		p.HostBuilds = filepath.Join(p.JobDir, "builds")
	} else if s.HostBuildsDir != "" {
		p.HostBuilds = s.HostBuildsDir
	}
	runnerBin := st.guestRunnerBinary("darwin")
	mounts, err := mountsFor(s, p, warmTagID(n), runnerBin != "")
	if err != nil {
		log.Errorf("warm-build: %v", err)
		return 1
	}
	opts, err := st.runOptions(mounts, p.RunLog)
	if err != nil {
		log.Errorf("warm-build: %v", err)
		return 1
	}
	for _, d := range opts.Dirs {
		_ = os.MkdirAll(d.Path, 0o755)
	}
	spec, err := st.warmSpec(image, opts.Dirs, nil)
	if err != nil {
		log.Errorf("warm-build: %v", err)
		return 1
	}
	pool, err := slots.New(s.SlotsDir, map[slots.Kind]int{slots.KindMacOS: s.MacOSLimit})
	if err != nil {
		log.Errorf("warm-build: %v", err)
		return 1
	}
	connect := func(ctx context.Context, vm string, h *tart.RunHandle) (guest.Transport, error) {
		b := *st
		b.VM = vm
		tr, _, _, err := b.waitReady(ctx, h, "darwin")
		return tr, err
	}
	snap, err := m.BuildInSlot(ctx, pool, n, spec, warm.BuildOptions{Run: tart.RunOptions{Net: opts.Net, RootDisk: opts.RootDisk}, Connect: connect})
	switch {
	case err == nil && snap.Name != "":
		log.Printf("warm-build: built snapshot %s for slot %d", snap.Name, n)
	case err == nil, errors.Is(err, warm.ErrSlotWanted), errors.Is(err, warm.ErrPreempted), errors.Is(err, warm.ErrNotMacOS), errors.Is(err, warm.ErrBuildBusy):
		log.Printf("warm-build: slot %d: %v", n, err)
	default:
		log.Errorf("warm-build: slot %d: %v", n, err)
		return 1
	}
	return 0
}

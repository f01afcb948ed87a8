package gitlab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tartanhq/tartan/tart"
)

// jobPaths are the host paths of one job.
type jobPaths struct {
	JobDir     string // <state_dir>/jobs/<vm>
	RunLog     string // tart run output
	HostBuilds string // shared as the builds dir ("" = builds on the VM disk)
}

func (st *Stage) paths() jobPaths {
	s := st.Settings
	p := jobPaths{JobDir: jobDir(s.StateDir, st.VM)}
	p.RunLog = filepath.Join(p.JobDir, "tart-run.log")
	switch s.HostBuildsDir {
	case "":
	case perJobBuilds:
		p.HostBuilds = filepath.Join(p.JobDir, "builds")
	default:
		p.HostBuilds = s.HostBuildsDir
		if st.ConfigBuildsShared == "false" {
			// The config stage did not know the host dir (the Python
			// driver's configs give --builds-dir to prepare only), so
			// GitLab uses <builds>/<namespace>/<project> and two concurrent
			// jobs of one project would share a checkout. Sharing this
			// job's slot subdirectory gives the host the very layout
			// builds_dir_is_shared would: <dir>/<runner>/<concurrent id>/…
			p.HostBuilds = filepath.Join(s.HostBuildsDir, nonEmpty(st.Job.RunnerShortToken, "runner"), nonEmpty(st.Job.ConcurrentProjectID, "0"))
		}
	}
	return p
}

func nonEmpty(v, fallback string) string {
	if v == "" {
		return fallback
	}
	return v
}

// Prepare creates and boots the job's VM. It is idempotent: the runner
// retries it (with cleanup in between, but a crash may skip that), so a
// leftover VM of the same job is replaced.
func (st *Stage) Prepare(ctx context.Context) error {
	s, log := st.Settings, st.Log
	start := time.Now()
	st.logOverrides()
	image, err := ChooseImage(s, st.Job.Image)
	if err != nil {
		return &BuildError{Err: err}
	}
	if w := dhcpLeaseWarning(s); w != "" {
		log.Warnf("%s", w)
	}
	// The sweep only touches other jobs' VMs and records: it runs
	// alongside this job's preparation instead of before it.
	swept := make(chan struct{})
	go func() { defer close(swept); st.Sweep(ctx, false) }()
	defer func() { <-swept }()
	if _, err := st.Tart.Get(ctx, st.VM); err == nil {
		if err := st.deleteVM(ctx, st.VM); err != nil {
			return fmt.Errorf("removing the leftover VM %s of an earlier attempt: %w", st.VM, err)
		}
		log.Printf("Replaced the leftover VM %s of an earlier attempt", st.VM)
	}
	_ = removeJobState(s.StateDir, st.VM)

	p := st.paths()
	if err := ensureSharedDir(filepath.Dir(p.JobDir)); err != nil {
		return err
	}
	if err := os.MkdirAll(p.JobDir, 0o700); err != nil {
		return fmt.Errorf("job dir: %w", err)
	}
	if p.HostBuilds != "" {
		if err := os.MkdirAll(p.HostBuilds, 0o755); err != nil {
			return fmt.Errorf("host builds dir: %w", err)
		}
	}
	if s.HostCacheDir != "" {
		if err := os.MkdirAll(s.HostCacheDir, 0o755); err != nil {
			return fmt.Errorf("host cache dir: %w", err)
		}
	}
	owner := ownerProcess()
	ownerStart, _ := processStart(owner)
	rec := &Record{VM: st.VM, JobID: st.Job.ID, Created: time.Now().UTC(), OwnerPID: owner, OwnerStart: ownerStart, Image: image, JobDir: p.JobDir}
	if err := saveRecord(s.StateDir, rec); err != nil {
		return err
	}

	if err := st.pull(ctx, image); err != nil {
		return err
	}
	if s.WarmStart {
		if handled, err := st.prepareWarm(ctx, image, rec, p, start); handled {
			return err
		}
	}
	t := time.Now()
	creds := RegistryCredentials(image, st.Job.Var)
	maskCreds(log, creds)
	err = st.Tart.Clone(ctx, image, st.VM, tart.CloneOptions{
		Concurrency: s.PullConcurrency, Insecure: insecureRegistry(s, image), Credentials: creds,
		Progress: progressLogger(log),
	})
	if err != nil {
		return pullError(image, err)
	}
	if err := st.configureVM(ctx); err != nil {
		return err
	}
	info, err := st.Tart.Get(ctx, st.VM)
	if err != nil {
		return fmt.Errorf("reading VM %s: %w", st.VM, err)
	}
	log.Printf("Cloned %s as VM %s in %s (%s, %d CPU, %d MiB)", image, st.VM, since(t), osLabel(info.OS), info.CPU, info.Memory)
	rec.GuestOS = info.OS
	_ = saveRecord(s.StateDir, rec)

	runnerBin := st.guestRunnerBinary(info.OS)
	mounts, err := mountsFor(s, p, st.Job.ID, runnerBin != "")
	if err != nil {
		return err
	}
	opts, err := st.runOptions(mounts, p.RunLog)
	if err != nil {
		return err
	}

	slot, err := st.acquireSlot(ctx, info.OS)
	if err != nil {
		return err
	}
	defer func() { _ = slot.Release() }() // our copy: tart run keeps its own
	opts.ExtraFiles = []*os.File{slot.File()}
	if s.WarmStart {
		st.noteWarmSlot(image, info.OS, slot.Number()) // cleanup builds this slot's snapshot
	}
	log.Printf("Starting VM %s", st.VM)
	t = time.Now()
	h, err := st.Tart.Run(ctx, st.VM, opts)
	if err != nil {
		return st.runFailed(err, p.RunLog)
	}
	_ = slot.SetPID(h.PID)
	rec.RunPID, rec.RunLog = h.PID, h.LogPath
	rec.RunStart, _ = processStart(h.PID)
	if err := saveRecord(s.StateDir, rec); err != nil {
		return err
	}

	tr, mode, ip, err := st.waitReady(ctx, h, info.OS)
	if err != nil {
		return err
	}
	defer tr.Close()
	rec.Transport, rec.IP = mode, ip
	if v, err := st.Tart.Version(ctx); err == nil {
		rec.TartVersion = v.Raw
	}
	if err := saveRecord(s.StateDir, rec); err != nil {
		return err
	}
	log.Printf("VM %s booted in %s", st.VM, since(t))

	if err := st.setupGuest(ctx, tr, info.OS, mounts, runnerBin); err != nil {
		if errors.Is(err, ErrGuestLost) || !h.Alive() {
			return st.vmDiedError(h.LogPath, err)
		}
		return err
	}
	log.Printf("Prepared VM %s in %s", st.VM, since(start))
	return nil
}

func osLabel(os string) string {
	if os == "linux" {
		return "Linux"
	}
	return "macOS"
}

// runFailed explains a `tart run` that did not start.
func (st *Stage) runFailed(err error, logPath string) error {
	tail := strings.TrimSpace(tart.Attach(st.VM, 0, logPath).LogTail(10))
	if errors.Is(err, tart.ErrVMLimit) {
		return fmt.Errorf("tart refused to start a VM: the host's VM limit is reached outside Tartan's slots (another tool runs VMs, or the count went stale: reboot the host): %w", err)
	}
	if tail != "" {
		st.Log.Printf("Last lines of tart run:\n%s", tail)
	}
	var te *tart.Error
	if errors.As(err, &te) && te.ExitCode >= 0 {
		return fmt.Errorf("%w: tart run exited with code %d while starting VM %s: %v", ErrVMDied, te.ExitCode, st.VM, err)
	}
	return fmt.Errorf("starting VM %s: %w", st.VM, err)
}

// vmDiedError reports a VM that exited early, with its log tail.
func (st *Stage) vmDiedError(logPath string, cause error) error {
	tail := strings.TrimSpace(tart.Attach(st.VM, 0, logPath).LogTail(10))
	if tail != "" {
		st.Log.Printf("Last lines of tart run:\n%s", tail)
	}
	return fmt.Errorf("%w: VM %s exited (%v)", ErrVMDied, st.VM, cause)
}

package gitlab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tartanhq/tartan/guest"
	"github.com/tartanhq/tartan/slots"
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
	}
	return p
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
	st.Sweep(ctx, false)
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
	log.Printf("Starting VM %s", st.VM)
	t = time.Now()
	h, err := st.Tart.Run(ctx, st.VM, opts)
	if err != nil {
		return st.runFailed(err, p.RunLog)
	}
	_ = slot.SetPID(h.PID)
	rec.RunPID, rec.RunLog = h.PID, h.LogPath
	if err := saveRecord(s.StateDir, rec); err != nil {
		return err
	}

	tr, mode, ip, err := st.waitReady(ctx, h, info.OS)
	if err != nil {
		return err
	}
	defer tr.Close()
	rec.Transport, rec.IP = mode, ip
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

// pull fetches image according to pull_policy, with progress in the log.
func (st *Stage) pull(ctx context.Context, image string) error {
	s, log := st.Settings, st.Log
	if !IsRemoteImage(image) {
		// A local VM used as a template: nothing to pull.
		if _, err := st.Tart.Get(ctx, image); err != nil {
			if errors.Is(err, tart.ErrVMNotFound) {
				return &BuildError{Err: fmt.Errorf("image %q is neither a registry image (host/name:tag) nor a local VM on this host", image)}
			}
			return err
		}
		log.Printf("Using local VM %s as the image", image)
		return nil
	}
	present := false
	if s.PullPolicy != "always" {
		var err error
		if present, err = st.imageCached(ctx, image); err != nil {
			return err
		}
	}
	switch {
	case s.PullPolicy == "never" && !present:
		return &BuildError{Err: fmt.Errorf("image %s is not on this host and pull_policy is never: ask the runner admin to pull it, or allow another pull policy", image)}
	case present:
		log.Printf("Using image %s (already on this host, pull_policy %s)", image, s.PullPolicy)
		return nil
	}
	log.Printf("Pulling image %s (pull_policy %s)...", image, s.PullPolicy)
	t := time.Now()
	creds := RegistryCredentials(image, st.Job.Var)
	maskCreds(log, creds)
	if creds != nil {
		log.Printf("Registry credentials for %s: user %s", hostOr(creds.Hostname, registryHost(image)), creds.Username)
	}
	err := st.Tart.Pull(ctx, image, tart.PullOptions{
		Concurrency: s.PullConcurrency, Insecure: insecureRegistry(s, image), Credentials: creds,
		Progress: progressLogger(log),
	})
	if err != nil {
		return pullError(image, err)
	}
	log.Printf("Pulled %s in %s", image, since(t))
	return nil
}

func hostOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func maskCreds(log *Log, c *tart.Credentials) {
	if c != nil {
		log.Mask(c.Password)
	}
}

// pullError turns a failed pull/clone into a build error when the job can
// fix it (credentials, a missing image), else a system failure.
func pullError(image string, err error) error {
	switch {
	case errors.Is(err, tart.ErrAuth):
		return &BuildError{Err: fmt.Errorf("pulling %s: the registry refused the credentials (%v); set TART_REGISTRY_USERNAME and TART_REGISTRY_PASSWORD (masked variables) or use an image from CI_REGISTRY", image, err)}
	case errors.Is(err, tart.ErrDiskFull):
		return fmt.Errorf("pulling %s: the host is out of disk space (%w); free space in TART_HOME or prune tart's cache", image, err)
	}
	var te *tart.Error
	if errors.As(err, &te) && strings.Contains(te.Stderr, "404") {
		return &BuildError{Err: fmt.Errorf("pulling %s: the registry has no such image (%v)", image, err)}
	}
	return fmt.Errorf("pulling %s: %w", image, err)
}

// imageCached reports whether tart's OCI cache has image.
func (st *Stage) imageCached(ctx context.Context, image string) (bool, error) {
	entries, err := st.Tart.List(ctx, tart.ListOptions{Source: "oci"})
	if err != nil {
		return false, fmt.Errorf("listing cached images: %w", err)
	}
	want := image
	if !strings.Contains(image[strings.LastIndexByte(image, '/')+1:], ":") && !strings.Contains(image, "@") {
		want += ":latest"
	}
	for _, e := range entries {
		if e.Name == want || e.Name == image {
			return true, nil
		}
	}
	return false, nil
}

// progressLogger shows tart's pull progress: every status line, and
// percentages in steps of 25 so the job log stays short.
func progressLogger(log *Log) func(string) {
	last := -1
	return func(line string) {
		line = strings.TrimSpace(line)
		if line == "" {
			return
		}
		if pct, ok := strings.CutSuffix(line, "%"); ok {
			var n int
			if _, err := fmt.Sscan(pct, &n); err == nil {
				if last >= 0 && n < last+25 && n != 100 {
					return
				}
				last = n
			}
		}
		log.Printf("  %s", line)
	}
}

// setOptions: random MAC always (stale DHCP leases of a reused MAC give two
// VMs one IP), plus the resources.
func (st *Stage) setOptions() tart.SetOptions {
	s := st.Settings
	o := tart.SetOptions{RandomMAC: true, DiskSizeGB: s.DiskSize, Display: s.Display}
	o.CPU = resource(s.CPU, hostCPUs(), s.Concurrency)
	o.MemoryMB = resource(s.Memory, hostMemoryMB(), s.Concurrency)
	return o
}

// configureVM applies setOptions. When an `auto` share of the host is
// below what the image needs (a small host, many concurrent jobs), the
// image's own value is kept instead of failing the job.
func (st *Stage) configureVM(ctx context.Context) error {
	s := st.Settings
	o := st.setOptions()
	err := st.Tart.Set(ctx, st.VM, o)
	if err != nil && strings.Contains(err.Error(), "LessThanMinimalResources") && (s.CPU == "auto" || s.Memory == "auto") {
		st.Log.Warnf("cpu/memory auto (%d CPU, %d MiB) is below the image's minimum on this host: keeping the image's values", o.CPU, o.MemoryMB)
		if s.CPU == "auto" {
			o.CPU = 0
		}
		if s.Memory == "auto" {
			o.MemoryMB = 0
		}
		err = st.Tart.Set(ctx, st.VM, o)
	}
	if err != nil {
		return fmt.Errorf("configuring VM %s: %w", st.VM, err)
	}
	return nil
}

// resource resolves a cpu/memory setting: "" = image default (0), auto =
// the host's total split by concurrency, else the number.
func resource(v string, hostTotal, concurrency int) int {
	switch v {
	case "":
		return 0
	case "auto":
		if hostTotal <= 0 {
			return 0
		}
		return max(1, hostTotal/max(1, concurrency))
	}
	var n int
	_, _ = fmt.Sscan(v, &n) // validated in Settings.validate
	return n
}

// runOptions builds `tart run` from the settings.
func (st *Stage) runOptions(mounts []Mount, logPath string) (tart.RunOptions, error) {
	s := st.Settings
	o := tart.RunOptions{
		NoGraphics: s.Headless || s.VNC,
		VNC:        s.VNC,
		Nested:     s.Nested,
		Dirs:       sharesOf(mounts),
		LogPath:    logPath,
		NoAudio:    true,
		// Boot can wait behind tart's global lock (clones of other jobs).
		StartTimeout: s.IPTimeout,
		// No settle wait: waitReady watches tart run from here on and
		// reports an early exit (VM limit included) with its log.
		StartSettle: -1,
	}
	var err error
	if o.Disks, err = parseDisks(s.Disks); err != nil {
		return o, err
	}
	if o.RootDisk, err = parseRootDiskOpts(s.RootDiskOpts); err != nil {
		return o, err
	}
	switch s.Network {
	case "softnet":
		o.Net = tart.Network{Mode: tart.NetSoftnet, SoftnetAllow: s.SoftnetAllow, SoftnetBlock: s.SoftnetBlock, SoftnetExpose: s.SoftnetExpose}
	case "bridged":
		o.Net = tart.Network{Mode: tart.NetBridged, Bridged: s.BridgedInterfaces}
	case "host":
		o.Net = tart.Network{Mode: tart.NetHost}
	}
	return o, nil
}

// acquireSlot takes a host-wide VM slot, waiting (bounded, with a line in
// the job log) when all are busy.
func (st *Stage) acquireSlot(ctx context.Context, guestOS string) (*slots.Slot, error) {
	s, log := st.Settings, st.Log
	kind, err := slots.KindForOS(guestOS)
	if err != nil {
		return nil, err
	}
	limit := s.MacOSLimit
	if kind == slots.KindLinux {
		limit = s.LinuxLimit
	}
	pool, err := slots.New(s.SlotsDir, map[slots.Kind]int{kind: limit})
	if err != nil {
		return nil, err
	}
	h := slots.Holder{Owner: "gitlab job " + st.Job.ID, VM: st.VM}
	slot, err := pool.TryAcquire(kind, h)
	if err == nil {
		return slot, nil
	}
	if !errors.Is(err, slots.ErrBusy) {
		return nil, err
	}
	var names []string
	if holders, _ := pool.Holders(kind); len(holders) > 0 {
		for _, hi := range holders {
			names = append(names, hi.VM)
		}
	}
	log.Printf("Waiting for a free %s VM slot: all %d are busy (%s); waiting up to %s", kind, limit, strings.Join(names, ", "), round(s.SlotTimeout))
	t := time.Now()
	wctx, cancel := context.WithTimeout(ctx, s.SlotTimeout)
	defer cancel()
	slot, err = pool.Acquire(wctx, kind, h)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("stopped waiting for a VM slot: %w", ctx.Err())
		}
		return nil, fmt.Errorf("%w after %s: %v", ErrSlotTimeout, round(s.SlotTimeout), err)
	}
	log.Printf("Got %s VM slot %d after %s", kind, slot.Number(), since(t))
	return slot, nil
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

// ensure guest is used (setupGuest lives in guestsetup.go).
var _ guest.Transport = (*guest.SSH)(nil)

package containersim

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"
)

func cmdRun(e *env, p *parsed) error {
	r, err := e.buildRunRequest(p)
	if err != nil {
		return err
	}
	if c, _ := e.load(r.ID); c != nil {
		return failf("container with id %s already exists", r.ID)
	}
	if err := e.ensureKernel(); err != nil {
		return err
	}
	e.trace("validated")
	progress := e.progressSink(r.Progress)
	c, err := e.createContainer(r, p, progress)
	if err != nil {
		return err
	}
	if progress != nil {
		// run's own steps after the (optional) fetch: automation that keeps
		// --progress auto sees them on stderr, as with the real CLI.
		progress(fmt.Sprintf("[2/2] Unpacking image 100%% [%ds]", int(time.Since(e.started).Seconds())))
		progress(fmt.Sprintf("Starting container %s [%ds]", r.ID, int(time.Since(e.started).Seconds())))
	}
	e.trace("created (image resolved, rootfs unpacked)")
	fc, cmd, err := e.startRuntime(c)
	if err != nil {
		e.discard(c)
		return err
	}
	e.trace("runtime spawned")
	go func() { _ = cmd.Wait() }() // reap the runtime if it ends while we attach
	err = e.waitStarted(fc)
	e.trace("process started")
	if err != nil {
		fc.rw.Close()
		e.discard(c)
		return e.startError(c, err)
	}
	if r.Cidfile != "" {
		if err := os.WriteFile(r.Cidfile, []byte(r.ID), 0o644); err != nil {
			return failf("failed to write cidfile %s: %v", r.Cidfile, err)
		}
	}
	if r.Detach {
		fc.rw.Close()
		fmt.Fprintln(e.stdout, r.ID)
		return nil
	}
	e.attachedBundle = c.Bundle
	return e.attach(fc, r.Opts.Interactive, c.Config.InitProcess.Terminal)
}

func cmdCreate(e *env, p *parsed) error {
	r, err := e.buildRunRequest(p)
	if err != nil {
		return err
	}
	if c, _ := e.load(r.ID); c != nil {
		return failf("container already exists: %s", r.ID)
	}
	if err := e.ensureKernel(); err != nil {
		return err
	}
	if _, err := e.createContainer(r, p, nil); err != nil {
		return err
	}
	if r.Cidfile != "" {
		if err := os.WriteFile(r.Cidfile, []byte(r.ID), 0o644); err != nil {
			return failf("failed to write cidfile %s: %v", r.Cidfile, err)
		}
	}
	fmt.Fprintln(e.stdout, r.ID)
	return nil
}

func cmdStart(e *env, p *parsed) error {
	id := p.args[0]
	c, err := e.load(id)
	if err != nil {
		return failf("get failed: container %s not found", id)
	}
	attach := p.flag("attach") || p.flag("interactive")
	if c.Alive {
		if attach {
			return failf("attach is currently unsupported on already running containers")
		}
		fmt.Fprintln(e.stdout, id)
		return nil
	}
	if err := e.ensureKernel(); err != nil {
		return err
	}
	for _, m := range c.Config.Mounts {
		if m.Type["virtiofs"] != nil && !fileExists(m.Source) {
			return failf("mount source path '%s' does not exist", m.Source)
		}
	}
	if p.flag("interactive") != c.Opts.Interactive {
		c.Opts.Interactive = p.flag("interactive")
		if err := writeJSONAtomic(filepath.Join(c.Bundle, "options.json"), c.Opts); err != nil {
			return err
		}
	}
	fc, cmd, err := e.startRuntime(c)
	if err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	if err := e.waitStarted(fc); err != nil {
		fc.rw.Close()
		return e.startError(c, err)
	}
	if !attach {
		fc.rw.Close()
		fmt.Fprintln(e.stdout, id)
		return nil
	}
	e.attachedBundle = c.Bundle
	return e.attach(fc, p.flag("interactive"), c.Config.InitProcess.Terminal)
}

// startFailed carries the runtime's reason for a failed start.
type startFailed struct{ msg string }

func (s *startFailed) Error() string { return s.msg }

// errStoppedDuringBoot: a stop arrived before the process started.
var errStoppedDuringBoot = errors.New("container was stopped while booting")

// waitStarted reads frames until the runtime reports the process started
// (bounded: the boot delay knob plus the runtime's own 2 min runc limit).
func (e *env) waitStarted(fc *frameConn) error {
	if c, ok := fc.rw.(net.Conn); ok {
		_ = c.SetReadDeadline(time.Now().Add(e.knobDuration("CONTAINER_SIM_START_DELAY") + 3*time.Minute))
		defer func() { _ = c.SetReadDeadline(time.Time{}) }()
	}
	for {
		t, p, err := fc.read()
		if err != nil {
			return &startFailed{"container runtime exited before the container started (see runtime.log in the bundle)"}
		}
		switch t {
		case frameStarted:
			return nil
		case frameFailed:
			return &startFailed{string(p)}
		case frameExit:
			return errStoppedDuringBoot
		}
	}
}

func (e *env) startError(c *container, err error) error {
	if errors.Is(err, errStoppedDuringBoot) {
		return failf("%s", czDescRaw(codeInternal, "failed to bootstrap container "+c.ID)+
			` (cause: "`+czDescRaw(codeInterrupted, "container was stopped while it was booting")+`")`)
	}
	return failf("%s", czDescRaw(codeInternal, "failed to bootstrap container "+c.ID)+
		` (cause: "`+czDescRaw(codeInternal, err.Error())+`")`)
}

// createContainer resolves the image, allocates the address and writes the
// bundle. On any error nothing is left behind.
func (e *env) createContainer(r *runRequest, p *parsed, progress func(string)) (*container, error) {
	img, err := e.ensureImage(r.Ref, r.Platform, p.str("scheme", "auto"), progress)
	if err != nil {
		return nil, err
	}
	e.trace("image resolved")
	unlock, err := e.globalLock()
	if err != nil {
		return nil, err
	}
	b := e.bundle(r.ID)
	if fileExists(filepath.Join(b, "config.json")) || fileExists(filepath.Join(b, "options.json")) {
		unlock()
		return nil, failf("container with id %s already exists", r.ID)
	}
	if len(r.Cfg.Networks) > 0 {
		ip, err := e.allocateIP()
		if err != nil {
			unlock()
			return nil, err
		}
		r.Opts.IPv4 = ip.String() + "/24"
	}
	if err := os.MkdirAll(b, 0o755); err != nil {
		unlock()
		return nil, err
	}
	// options.json first: it reserves the address for concurrent creates.
	r.Opts.Rootfs = filepath.Join(b, "rootfs")
	if err := writeJSONAtomic(filepath.Join(b, "options.json"), r.Opts); err != nil {
		unlock()
		os.RemoveAll(b)
		return nil, err
	}
	unlock()
	c := &container{ID: r.ID, Bundle: b}
	fail := func(err error) (*container, error) {
		e.discard(c)
		return nil, err
	}
	s, err := e.imageStore()
	if err != nil {
		return fail(err)
	}
	ic, err := e.prepareRootfs(s, img, r.Platform, &r.Opts, b)
	if err != nil {
		return fail(failf("failed to unpack image %s: %v", img.Reference, err))
	}
	if err := e.applyImage(r, p, img, ic); err != nil {
		return fail(err)
	}
	uid, gid, groups, err := resolveUser(r.Opts.userRoot(false), r.Cfg.InitProcess.User.userString())
	if err != nil {
		return fail(err)
	}
	r.Opts.UID, r.Opts.GID, r.Opts.Groups = uid, gid, groups
	r.Cfg.InitProcess.SupplementalGroups = append(r.Cfg.InitProcess.SupplementalGroups, groups...)
	if err := writeJSONAtomic(filepath.Join(b, "options.json"), r.Opts); err != nil {
		return fail(err)
	}
	if err := writeJSONAtomic(filepath.Join(b, "config.json"), r.Cfg); err != nil {
		return fail(err)
	}
	if err := writeJSONAtomic(filepath.Join(b, "state.json"), runtimeStatus{State: stateStopped}); err != nil {
		return fail(err)
	}
	c.Config, c.Opts = r.Cfg, r.Opts
	return c, nil
}

// discard removes a container that failed to come up (the CLI deletes it
// even without --rm, §4.1).
func (e *env) discard(c *container) {
	if unlock, err := e.globalLock(); err == nil {
		defer unlock()
	}
	_ = os.RemoveAll(c.Bundle)
}

// attach streams the container's output to the CLI's stdout/stderr until
// the runtime reports the exit status, which becomes the CLI's.
func (e *env) attach(fc *frameConn, interactive, tty bool) error {
	defer fc.rw.Close()
	if f, ok := e.stdin.(*os.File); ok && tty && interactive && term.IsTerminal(int(f.Fd())) {
		if st, err := term.MakeRaw(int(f.Fd())); err == nil {
			defer func() { _ = term.Restore(int(f.Fd()), st) }()
		}
	}
	if interactive {
		go func() {
			buf := make([]byte, 32*1024)
			for {
				n, err := e.stdin.Read(buf)
				if n > 0 {
					if fc.write(frameStdin, buf[:n]) != nil {
						return
					}
				}
				if err != nil {
					_ = fc.write(frameEOF, nil)
					return
				}
			}
		}()
	}
	stopSignals := e.catchSignals(fc)
	defer stopSignals()
	sawOutput := false
	for {
		t, p, err := fc.read()
		if err != nil {
			return failf("%s", czDescRaw(codeInterrupted, "container runtime exited unexpectedly"))
		}
		switch t {
		case frameStdout:
			if !sawOutput {
				sawOutput = true
				e.trace("first output")
			}
			_, _ = e.stdout.Write(p)
		case frameStderr:
			_, _ = e.stderr.Write(p)
		case frameExit:
			e.trace("exit status received")
			code := exitFromPayload(p)
			if code < 0 || code > 255 {
				code = 255
			}
			return &exitCode{code}
		case frameFailed:
			return failf("%s", string(p))
		}
	}
}

// stdioCmd is a helper for commands whose output the CLI passes through.
func stdioCmd(e *env, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.stdin, e.stdout, e.stderr
	return cmd
}

func joinIDs(ids []string) string { return strings.Join(ids, ", ") }

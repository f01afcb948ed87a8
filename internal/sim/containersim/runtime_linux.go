package containersim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// The runtime process (`container-sim __runtime <app-root> <id>`) owns one
// running container, like Apple's per-container launchd service: it holds
// the bundle's runtime.lock for its whole life (liveness = a lock probe),
// creates the network namespace, runs `runc run` in the foreground, tees the
// process's stdout/stderr into stdio.log and to the attached client, serves
// stop/kill requests on its socket, and cleans up when the process exits.

type rtClient struct {
	fc   *frameConn
	q    chan rtFrame
	once sync.Once
	done chan struct{} // closed when the writer goroutine has finished
}

type rtFrame struct {
	t byte
	p []byte
}

func (c *rtClient) close() { c.once.Do(func() { close(c.q) }) }

type runtimeProc struct {
	e       *env
	c       *container
	lock    *os.File
	ln      net.Listener
	logf    *os.File
	stdin   io.WriteCloser
	proxy   *portProxy
	initPID int

	statusMu sync.Mutex
	mu       sync.Mutex
	clients  []*rtClient
	waiters  []*frameConn
	started  bool
	bootBuf  []rtFrame
	stopping bool
	vmDied   bool

	waitDone  chan error
	abortBoot chan struct{}
	abortOnce sync.Once
	exited    chan struct{}
}

// RuntimeMain is the entry point of the hidden `__runtime` command.
func RuntimeMain(args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: container-sim __runtime <app-root> <id>")
		return exitUsage
	}
	self, _ := os.Executable()
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, root: args[0], self: self, started: time.Now()}
	e.loadVersion()
	r := &runtimeProc{e: e, abortBoot: make(chan struct{}), exited: make(chan struct{})}
	if err := r.run(args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "%s runtime: %v\n", time.Now().UTC().Format(time.RFC3339Nano), err)
		return exitFailure
	}
	return exitOK
}

func (r *runtimeProc) run(id string) error {
	c, err := r.e.load(id)
	if err != nil {
		return fmt.Errorf("load %s: %w", id, err)
	}
	r.c = c
	if err := r.takeLock(); err != nil {
		r.failFirstClient(err.Error())
		return err
	}
	if f := os.NewFile(3, "attach"); f != nil {
		if conn, err := net.FileConn(f); err == nil {
			r.addClient(conn, true)
		}
		f.Close()
	}
	ln, err := net.Listen("unix", controlAddr(c.Bundle))
	if err != nil {
		r.finish(-1, fmt.Errorf("listen on control socket: %w", err))
		return err
	}
	r.ln = ln
	go r.serveControl()
	r.setStatus(runtimeStatus{State: stateBooting, RuntimePID: os.Getpid()})
	cmd, bootErr := r.boot()
	if bootErr != nil {
		r.finish(-1, bootErr)
		return nil
	}
	code := r.wait(cmd)
	r.finish(code, nil)
	return nil
}

func (r *runtimeProc) takeLock() error {
	deadline := time.Now().Add(3 * time.Second)
	for {
		f, err := flockFile(filepath.Join(r.c.Bundle, "runtime.lock"), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			r.lock = f
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			return fmt.Errorf("container %s is already running", r.c.ID)
		}
		time.Sleep(5 * time.Millisecond) // a CLI's shared-lock probe lasts microseconds
	}
}

func (r *runtimeProc) failFirstClient(msg string) {
	if f := os.NewFile(3, "attach"); f != nil {
		if conn, err := net.FileConn(f); err == nil {
			fc := &frameConn{rw: conn}
			_ = fc.write(frameFailed, []byte(msg))
			conn.Close()
		}
		f.Close()
	}
}

func (r *runtimeProc) setStatus(st runtimeStatus) {
	r.updateStatus(func(s *runtimeStatus) { *s = st })
}

// updateStatus changes state.json under statusMu (control requests and the
// main flow both write it).
func (r *runtimeProc) updateStatus(fn func(*runtimeStatus)) {
	r.statusMu.Lock()
	defer r.statusMu.Unlock()
	fn(&r.c.Status)
	_ = writeJSONAtomic(filepath.Join(r.c.Bundle, "state.json"), r.c.Status)
}

// addClient registers a connection that receives output frames; the first
// attached client may also send stdin.
func (r *runtimeProc) addClient(conn net.Conn, attached bool) {
	cl := &rtClient{fc: &frameConn{rw: conn}, q: make(chan rtFrame, 8192), done: make(chan struct{})}
	r.mu.Lock()
	r.clients = append(r.clients, cl)
	r.mu.Unlock()
	go func() {
		defer close(cl.done)
		for f := range cl.q {
			if err := cl.fc.write(f.t, f.p); err != nil {
				r.dropClient(cl)
				for range cl.q {
				}
				break
			}
		}
		conn.Close()
	}()
	if attached {
		go r.readClientInput(cl)
	}
}

func (r *runtimeProc) dropClient(cl *rtClient) {
	r.mu.Lock()
	for i, x := range r.clients {
		if x == cl {
			r.clients = append(r.clients[:i], r.clients[i+1:]...)
			break
		}
	}
	r.mu.Unlock()
	cl.close()
}

func (r *runtimeProc) readClientInput(cl *rtClient) {
	for {
		t, p, err := cl.fc.read()
		if err != nil {
			return // an attached CLI going away never stops the container
		}
		r.mu.Lock()
		in := r.stdin
		r.mu.Unlock()
		if in == nil {
			continue
		}
		switch t {
		case frameStdin:
			_, _ = in.Write(p)
		case frameEOF:
			_ = in.Close()
		}
	}
}

// broadcastLocked queues a frame for every client; a client that cannot keep
// up is disconnected rather than stalling the container's output.
func (r *runtimeProc) broadcastLocked(t byte, p []byte) {
	for _, cl := range append([]*rtClient(nil), r.clients...) {
		select {
		case cl.q <- rtFrame{t, p}:
		default:
			for i, x := range r.clients {
				if x == cl {
					r.clients = append(r.clients[:i], r.clients[i+1:]...)
					break
				}
			}
			cl.close()
		}
	}
}

// emit handles container output: buffered until the start is confirmed
// (runc's own errors land there too), then logged and streamed.
func (r *runtimeProc) emit(t byte, p []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started {
		r.bootBuf = append(r.bootBuf, rtFrame{t, p})
		return
	}
	_, _ = r.logf.Write(p)
	r.broadcastLocked(t, p)
}

func (r *runtimeProc) serveControl() {
	for {
		conn, err := r.ln.Accept()
		if err != nil {
			return
		}
		go r.handleControl(conn)
	}
}

func (r *runtimeProc) handleControl(conn net.Conn) {
	fc := &frameConn{rw: conn}
	t, p, err := fc.read()
	if err != nil || t != frameRequest {
		conn.Close()
		return
	}
	var req controlRequest
	if err := json.Unmarshal(p, &req); err != nil {
		_ = fc.write(frameDone, []byte("bad request"))
		conn.Close()
		return
	}
	switch req.Op {
	case "stop":
		r.addWaiter(fc)
		r.stop(req.Signal, time.Duration(req.Timeout)*time.Second)
	case "kill":
		if req.Signal == int(unix.SIGKILL) {
			r.addWaiter(fc)
			r.stop(int(unix.SIGKILL), 0)
			return
		}
		msg := ""
		if err := r.signal(req.Signal); err != nil {
			msg = err.Error()
		}
		_ = fc.write(frameDone, []byte(msg))
		conn.Close()
	case "die":
		r.die()
		_ = fc.write(frameDone, nil)
		conn.Close()
	default:
		_ = fc.write(frameDone, []byte("unknown op "+req.Op))
		conn.Close()
	}
}

// addWaiter parks a control connection until the runtime has cleaned up.
func (r *runtimeProc) addWaiter(fc *frameConn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waiters = append(r.waiters, fc)
}

func (r *runtimeProc) signal(sig int) error {
	r.mu.Lock()
	pid := r.initPID
	r.mu.Unlock()
	if pid <= 0 {
		return errors.New("container is not running")
	}
	if err := unix.Kill(pid, unix.Signal(sig)); err != nil && !errors.Is(err, unix.ESRCH) {
		return err
	}
	return nil
}

// stop signals the process, escalating to SIGKILL after timeout. Stopping a
// booting container aborts the boot.
func (r *runtimeProc) stop(sig int, timeout time.Duration) {
	r.mu.Lock()
	started := r.started
	already := r.stopping
	r.stopping = true
	r.mu.Unlock()
	if !started {
		r.abortOnce.Do(func() { close(r.abortBoot) })
		return
	}
	if !already {
		r.updateStatus(func(s *runtimeStatus) { s.State = stateStopping })
	}
	_ = r.signal(sig)
	if sig == int(unix.SIGKILL) {
		return
	}
	go func() {
		select {
		case <-r.exited:
		case <-time.After(timeout):
			_ = r.signal(int(unix.SIGKILL))
		}
	}()
}

// die simulates the VM dying: the process is killed, no graceful stop.
func (r *runtimeProc) die() {
	r.mu.Lock()
	r.vmDied = true
	r.mu.Unlock()
	r.appendBootLog("vminitd: virtual machine stopped unexpectedly")
	_ = r.signal(int(unix.SIGKILL))
	r.abortOnce.Do(func() { close(r.abortBoot) })
}

func (r *runtimeProc) appendBootLog(line string) {
	f, err := os.OpenFile(filepath.Join(r.c.Bundle, "vminitd.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "[%s] %s\n", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), line)
}

var errBootAborted = errors.New("container was stopped before its process started")

// boot prepares namespaces and files and starts `runc run`.
func (r *runtimeProc) boot() (*exec.Cmd, error) {
	c, e := r.c, r.e
	ns := e.netnsPath(c.ID)
	_ = removeNetns(ns)
	var addr netip.Prefix
	if c.Opts.IPv4 != "" {
		addr, _ = netip.ParsePrefix(c.Opts.IPv4)
	}
	e.trace("runtime: lock taken")
	if err := createNetns(ns, addr, c.Opts.Gateway, c.Opts.MACAddress, c.Opts.MTU); err != nil {
		return nil, err
	}
	e.trace("runtime: network namespace ready")
	if err := mountRootfs(c); err != nil {
		return nil, err
	}
	mounts, err := e.containerMounts(c)
	if err != nil {
		return nil, err
	}
	spec := e.runcSpec(c, mounts)
	runcBundle := filepath.Join(c.Bundle, "runc")
	if err := os.MkdirAll(runcBundle, 0o755); err != nil {
		return nil, err
	}
	if err := writeJSONAtomic(filepath.Join(runcBundle, "config.json"), spec); err != nil {
		return nil, err
	}
	r.appendBootLog("booting virtual machine (container-sim: namespaces and runc)")
	if d := e.knobDuration("CONTAINER_SIM_START_DELAY"); d > 0 {
		select {
		case <-time.After(d):
		case <-r.abortBoot:
			return nil, errBootAborted
		}
	}
	select {
	case <-r.abortBoot:
		return nil, errBootAborted
	default:
	}
	logf, err := os.OpenFile(filepath.Join(c.Bundle, "stdio.log"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	r.logf = logf
	pidFile := filepath.Join(c.Bundle, "init.pid")
	_ = os.Remove(pidFile)
	cmd := exec.Command(runcBinary(e), "--root", e.runcRoot(), "run", "--bundle", runcBundle, "--pid-file", pidFile, c.ID)
	cmd.Dir = c.Bundle
	cmd.Env = runcEnv()
	// No Pdeathsig: it fires when the forking *thread* ends, and Go may end
	// threads; a runtime that dies is reaped by the next command instead.
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	var readers sync.WaitGroup
	if c.Config.InitProcess.Terminal {
		ptmx, tty, err := pty.Open()
		if err != nil {
			return nil, fmt.Errorf("allocate a pty: %w", err)
		}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
		cmd.SysProcAttr.Setsid, cmd.SysProcAttr.Setctty = true, true
		if err := cmd.Start(); err != nil {
			ptmx.Close()
			tty.Close()
			return nil, fmt.Errorf("start runc: %w", err)
		}
		tty.Close()
		r.stdin = ptmx
		readers.Add(1)
		go r.pump(ptmx, frameStdout, &readers)
	} else {
		outR, outW, _ := os.Pipe()
		errR, errW, _ := os.Pipe()
		cmd.Stdout, cmd.Stderr = outW, errW
		if c.Opts.Interactive {
			inR, inW, _ := os.Pipe()
			cmd.Stdin = inR
			defer inR.Close()
			r.mu.Lock()
			r.stdin = inW
			r.mu.Unlock()
		}
		if err := cmd.Start(); err != nil {
			for _, f := range []*os.File{outR, outW, errR, errW} {
				f.Close()
			}
			return nil, fmt.Errorf("start runc: %w", err)
		}
		outW.Close()
		errW.Close()
		readers.Add(2)
		go r.pump(outR, frameStdout, &readers)
		go r.pump(errR, frameStderr, &readers)
	}
	done := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		readersDone := make(chan struct{})
		go func() { readers.Wait(); close(readersDone) }()
		select { // stream drain after exit is bounded like the CLI's (≤3 s)
		case <-readersDone:
		case <-time.After(3 * time.Second):
		}
		done <- err
	}()
	r.waitDone = done
	e.trace("runtime: runc run started")
	pid, err := waitPIDFile(pidFile, done)
	e.trace("runtime: init pid written")
	if err != nil {
		return nil, r.startFailure(err)
	}
	// Record "running" before anyone hears "started": a CLI that returns on
	// that frame must see the container running.
	r.setStatus(runtimeStatus{State: stateRunning, StartedDate: time.Now().UTC(), RuntimePID: os.Getpid(), InitPID: pid})
	r.mu.Lock()
	r.initPID = pid
	r.started = true
	r.broadcastLocked(frameStarted, nil)
	for _, f := range r.bootBuf {
		_, _ = r.logf.Write(f.p)
		r.broadcastLocked(f.t, f.p)
	}
	r.bootBuf = nil
	aborted := false
	select {
	case <-r.abortBoot:
		aborted = true
	default:
	}
	r.mu.Unlock()
	r.appendBootLog(fmt.Sprintf("container process started (pid %d)", pid))
	if aborted {
		_ = r.signal(int(unix.SIGKILL))
	}
	if ports, socks := c.Config.PublishedPorts, c.Config.PublishedSockets; len(ports)+len(socks) > 0 {
		ip := ""
		if addr.IsValid() {
			ip = addr.Addr().String()
		}
		p, err := startProxies(ports, ns, ip)
		if err == nil {
			err = p.startSocketProxies(socks, pid)
		}
		if err != nil {
			p.Close()
			r.appendBootLog("port forwarding failed: " + err.Error())
			_ = r.signal(int(unix.SIGKILL))
		} else {
			r.proxy = p
		}
	}
	if d := e.knobDuration("CONTAINER_SIM_DIE_AFTER"); d > 0 {
		go func() {
			select {
			case <-time.After(d):
				r.die()
			case <-r.exited:
			}
		}()
	}
	return cmd, nil
}

func (r *runtimeProc) pump(f *os.File, t byte, wg *sync.WaitGroup) {
	defer wg.Done()
	defer f.Close()
	buf := make([]byte, 32*1024)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			r.emit(t, append([]byte(nil), buf[:n]...))
		}
		if err != nil {
			return
		}
	}
}

// waitPIDFile waits until runc has written the init pid (the process is
// created and started) or runc has exited (start failure).
func waitPIDFile(path string, done chan error) (int, error) {
	deadline := time.After(2 * time.Minute)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	read := func() int {
		if b, err := os.ReadFile(path); err == nil && len(bytes.TrimSpace(b)) > 0 {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				return pid
			}
		}
		return 0
	}
	for {
		if pid := read(); pid > 0 {
			return pid, nil
		}
		select {
		case err := <-done:
			done <- err // wait() reads it again
			if pid := read(); pid > 0 {
				return pid, nil // started and already exited
			}
			if err == nil {
				return 0, errors.New("process exited before it started")
			}
			return 0, err
		case <-deadline:
			return 0, errors.New("timed out waiting for runc to start the process")
		case <-tick.C:
		}
	}
}

// startFailure turns runc's complaint into the CLI's wording.
func (r *runtimeProc) startFailure(err error) error {
	r.mu.Lock()
	var msg strings.Builder
	for _, f := range r.bootBuf {
		msg.Write(f.p)
	}
	r.bootBuf = nil
	r.mu.Unlock()
	text := strings.TrimSpace(msg.String())
	exe := r.c.Config.InitProcess.Executable
	if strings.Contains(text, "executable file not found") || strings.Contains(text, "no such file or directory") && strings.Contains(text, "exec") {
		return fmt.Errorf("failed to find target executable %s", exe)
	}
	if text == "" {
		text = err.Error()
	}
	return fmt.Errorf("failed to start container process: %s", text)
}

func (r *runtimeProc) wait(cmd *exec.Cmd) int {
	err := <-r.waitDone
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
		} else {
			code = 255
		}
	}
	r.mu.Lock()
	if r.vmDied {
		code = 255
	}
	r.mu.Unlock()
	return code
}

// finish cleans up, records the stopped state, releases the lock and only
// then tells clients the exit code: whoever hears it sees a stopped container.
func (r *runtimeProc) finish(code int, bootErr error) {
	select {
	case <-r.exited:
	default:
		close(r.exited)
	}
	c, e := r.c, r.e
	if r.proxy != nil {
		r.proxy.Close()
	}
	if r.ln != nil {
		r.ln.Close()
	}
	if r.logf != nil {
		r.logf.Close()
	}
	r.mu.Lock()
	if r.stdin != nil {
		r.stdin.Close()
	}
	r.mu.Unlock()
	if fileExists(filepath.Join(e.runcRoot(), c.ID)) {
		_ = exec.Command(runcBinary(e), "--root", e.runcRoot(), "delete", "--force", c.ID).Run()
	}
	_ = removeNetns(e.netnsPath(c.ID))
	_ = unmountRootfs(c)
	_ = os.Remove(filepath.Join(c.Bundle, "init.pid"))
	if bootErr != nil && !errors.Is(bootErr, errBootAborted) {
		r.appendBootLog("start failed: " + bootErr.Error())
	} else {
		r.appendBootLog(fmt.Sprintf("container process exited (status %d); virtual machine stopped", code))
	}
	r.updateStatus(func(s *runtimeStatus) { s.State, s.InitPID, s.RuntimePID = stateStopped, 0, 0 })
	if c.Opts.AutoRemove {
		if unlock, err := e.globalLock(); err == nil {
			r.lock.Close()
			r.lock = nil
			_ = os.RemoveAll(c.Bundle)
			unlock()
		}
	}
	if r.lock != nil {
		r.lock.Close()
	}
	r.mu.Lock()
	if bootErr != nil {
		msg := bootErr.Error()
		if errors.Is(bootErr, errBootAborted) {
			r.broadcastLocked(frameExit, exitPayload(137))
		} else {
			r.broadcastLocked(frameFailed, []byte(msg))
		}
	} else {
		r.broadcastLocked(frameExit, exitPayload(code))
	}
	clients := r.clients
	r.clients = nil
	waiters := r.waiters
	r.waiters = nil
	r.mu.Unlock()
	for _, w := range waiters {
		_ = w.write(frameDone, nil)
		w.rw.Close()
	}
	for _, cl := range clients {
		cl.close()
	}
	// Give the writer goroutines a bounded moment to flush the last frames.
	deadline := time.After(2 * time.Second)
	for _, cl := range clients {
		select {
		case <-cl.done:
		case <-deadline:
			return
		}
	}
}

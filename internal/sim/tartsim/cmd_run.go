package tartsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// runInfo is vms/<name>/sim-run.json: what the running `tart run` chose and received.
type runInfo struct {
	PID       int        `json:"pid"`
	OS        string     `json:"os"`
	IP        string     `json:"ip"`
	MAC       string     `json:"mac"`
	NoIP      bool       `json:"noIP"`
	Agent     bool       `json:"agent"`
	SimSocket string     `json:"simSocket"`
	StartedAt time.Time  `json:"startedAt"`
	Options   *runConfig `json:"options"`
}

func (d *vmDir) readRunInfo() (*runInfo, error) {
	b, err := os.ReadFile(d.runPath())
	if err != nil {
		return nil, err
	}
	ri := &runInfo{}
	return ri, json.Unmarshal(b, ri)
}

// pidLock is tart's fcntl write lock on config.json, held for the VM's
// lifetime. Never open and close config.json again in this process while
// it is held: POSIX drops the lock on the first close of any descriptor.
func pidLock(d *vmDir) (*os.File, error) {
	f, err := os.OpenFile(d.configPath(), os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
	if err := unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk); err != nil {
		f.Close()
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
			return nil, nil
		}
		return nil, err
	}
	return f, nil
}

// bootLog appends timestamped events to $TART_SIM_BOOT_LOG when set.
type bootLog struct{ path, vm string }

func (b bootLog) event(format string, args ...any) {
	if b.path == "" {
		return
	}
	f, err := os.OpenFile(b.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s %s\n", time.Now().UTC().Format(time.RFC3339Nano), b.vm, fmt.Sprintf(format, args...))
}

// cmdRun: tart run <name> (§8). Blocks for the VM's lifetime.
func cmdRun(e *env, p *parsed) error {
	runtime.LockOSThread() // the guest's Pdeathsig is tied to the spawning thread
	keepInheritedFilesToSelf()
	// Signals are caught before the PID lock makes the VM visible as running:
	// Go drops an un-notified SIGUSR1/SIGUSR2, and a stop must never be lost.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	name := p.args[0]
	d := e.home.vm(name)
	// validate(): errors here print "Error: ..." and exit 1, even not-found.
	if err := d.open(); err != nil {
		return asValidate(err)
	}
	cfg, err := d.readConfig()
	if err != nil {
		return err
	}
	if cfg.Arch != "arm64" { // the simulated host is Apple Silicon
		return failf("UnsupportedArchitectureError()")
	}
	rc, err := buildRunConfig(p.cmd, p, cfg.OS, append([]string{"run"}, os.Args[2:]...))
	if err != nil {
		return err
	}
	_, suspended := os.Stat(d.statePath())
	resumed := suspended == nil
	meta := d.readImageMeta(cfg.OS)
	log := bootLog{e.getenv("TART_SIM_BOOT_LOG"), name}

	// run(): global lock, MAC collision fix, PID lock, then the VM limit.
	gl, err := e.home.globalLock()
	if err != nil {
		return failf("%v", err)
	}
	if e.home.runningMACInUse(cfg.MACAddress, name) {
		fmt.Fprintln(e.stdout, "There is already a running VM with the same MAC address!")
		fmt.Fprintln(e.stdout, "Resetting VM to assign a new MAC address...")
		cfg.MACAddress = randomMAC()
		if err := d.writeConfig(cfg); err != nil {
			gl.unlock()
			return failf("%v", err)
		}
		_ = os.Remove(d.statePath())
		resumed = false
	}
	// The address is chosen before the PID lock: once the VM shows as
	// running, tests read sim-run.json, so keep the work between the two
	// short (a run that then fails releases the address again).
	sharedIP, _ := runningIPOfMAC(cfg.MACAddress)
	res, err := e.home.reserveIP(cfg.MACAddress, sharedIP)
	if err != nil {
		gl.unlock()
		return runtimeFailf("tart-sim: %v", err)
	}
	defer res.release()
	console, err := openConsole(e, rc)
	if err != nil {
		gl.unlock()
		return err
	}
	defer func() {
		for _, f := range console {
			f.Close()
		}
	}()
	lockFile, err := pidLock(d)
	if err != nil {
		gl.unlock()
		return failf("%v", err)
	}
	if lockFile == nil {
		gl.unlock()
		return vmAlreadyRunning(name)
	}
	defer lockFile.Close()
	if cfg.OS == "darwin" {
		if others := e.home.runningVMs(name); countOS(others, "darwin") >= 2 {
			gl.unlock()
			names := make([]string, len(others))
			for i, o := range others {
				names[i] = o.name
			}
			return runtimeFailf("The number of VMs exceeds the system limit (other running VMs: %s)", strings.Join(names, ", "))
		}
	}

	garbled := resumed && resumeFault(e) == "garble"
	vm := &simVM{
		e: e, d: d, cfg: cfg, rc: rc, meta: meta, log: log, ip: res.ip,
		agent:   meta.Agent && !e.knobSet("TART_SIM_NO_AGENT") && !garbled && !res.shared,
		noIP:    e.knobSet("TART_SIM_NO_IP") || garbled,
		resumed: resumed,
		noGuest: res.shared || garbled,
		console: newGuestConsole(consoleWriter(console), cfg.OS, name),
	}
	if err := vm.startControl(); err != nil {
		gl.unlock()
		return runtimeFailf("tart-sim: %v", err)
	}
	defer vm.stopControl()
	ri := runInfo{PID: os.Getpid(), OS: cfg.OS, IP: res.ip, MAC: cfg.MACAddress, NoIP: vm.noIP, Agent: vm.agent,
		SimSocket: vm.ctlPath, StartedAt: time.Now().UTC(), Options: rc}
	b, _ := json.MarshalIndent(ri, "", "  ")
	_ = os.WriteFile(d.runPath(), b, 0o644)
	gl.unlock()
	log.event("started pid=%d ip=%s", os.Getpid(), res.ip)
	return vm.loop(sigs)
}

// runningVMs lists the other running local VMs, sorted by name. It skips
// self: opening our own config.json would drop our PID lock.
func (h *home) runningVMs(self string) []struct{ name, os string } {
	var out []struct{ name, os string }
	ents, _ := os.ReadDir(h.vmsDir())
	for _, ent := range ents {
		if ent.Name() == self {
			continue
		}
		d := h.vm(ent.Name())
		if !d.initialized() || d.lockPID() == 0 {
			continue
		}
		c, err := d.readConfig()
		if err != nil {
			continue
		}
		out = append(out, struct{ name, os string }{ent.Name(), c.OS})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func countOS(vms []struct{ name, os string }, osName string) int {
	n := 0
	for _, v := range vms {
		if v.os == osName {
			n++
		}
	}
	return n
}

func (h *home) runningMACInUse(mac, self string) bool {
	for _, v := range h.runningVMs(self) {
		if c, err := h.vm(v.name).readConfig(); err == nil && macEqual(c.MACAddress, mac) {
			return true
		}
	}
	return false
}

// keepInheritedFilesToSelf marks descriptors inherited from our parent (such
// as a slot lock handed over in tart.RunOptions.ExtraFiles) close-on-exec:
// `tart run` holds them for the VM's lifetime, but the guest and its
// processes must not, or a lock could outlive the VM.
func keepInheritedFilesToSelf() {
	for fd := 3; fd < 1024; fd++ {
		unix.CloseOnExec(fd)
	}
}

package tartsim

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tartanhq/tartan/internal/sim/guestsim"
)

// simVM is the state of one running simulated VM inside its `tart run`.
type simVM struct {
	e       *env
	d       *vmDir
	cfg     *vmConfig
	rc      *runConfig
	meta    imageMeta
	log     bootLog
	ip      string
	agent   bool
	noIP    bool
	resumed bool
	// noGuest: no guest process is spawned. Set when another running VM
	// (in another TART_HOME, which tart's own MAC check does not see) has
	// this VM's MAC, so DHCP gave both one address: connections to it reach
	// the other VM, which is the clash made visible. Also set by a garbled
	// resume (TART_SIM_RESUME_FAIL=garble).
	noGuest bool

	console *guestConsole // nil without --serial/--serial-path or for macOS guests

	guest   *guestsim.Guest
	ctl     net.Listener
	ctlPath string
	faults  chan ctlRequest
}

type ctlRequest struct {
	kind  string
	reply chan error
}

// simSocketPath is where `tart run` serves `tart sim fault`: in the VM
// directory, or under /tmp when that path is too long for a unix socket
// (sun_path holds about 104 bytes).
func simSocketPath(vmPath string) string {
	if p := filepath.Join(vmPath, "sim.sock"); len(p) < 100 {
		return p
	}
	h := uint32(2166136261)
	for _, c := range []byte(vmPath) {
		h = (h ^ uint32(c)) * 16777619
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("tart-sim-%08x.sock", h))
}

// startControl serves `tart sim fault` requests on a unix socket.
func (vm *simVM) startControl() error {
	vm.ctlPath = simSocketPath(vm.d.path)
	_ = os.Remove(vm.ctlPath)
	l, err := net.Listen("unix", vm.ctlPath)
	if err != nil {
		return err
	}
	vm.ctl = l
	vm.faults = make(chan ctlRequest)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go vm.serveControl(c)
		}
	}()
	return nil
}

func (vm *simVM) serveControl(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return
	}
	kind := strings.TrimSpace(strings.TrimPrefix(line, "fault "))
	req := ctlRequest{kind: kind, reply: make(chan error, 1)}
	select {
	case vm.faults <- req:
	case <-time.After(5 * time.Second):
		fmt.Fprintln(c, "error: the VM is shutting down")
		return
	}
	if err := <-req.reply; err != nil {
		fmt.Fprintf(c, "error: %v\n", err)
		return
	}
	fmt.Fprintln(c, "ok")
}

func (vm *simVM) stopControl() {
	if vm.ctl != nil {
		vm.ctl.Close()
		_ = os.Remove(vm.ctlPath)
	}
}

func (vm *simVM) guestConfig() guestsim.Config {
	e := vm.e
	port := 22
	if v := e.getenv("TART_SIM_SSH_PORT"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 && n < 65536 {
			port = n
		} else {
			fmt.Fprintf(e.stderr, "tart-sim: ignoring TART_SIM_SSH_PORT=%q: not a port number\n", v)
		}
	}
	shares := make([]guestsim.Share, 0, len(vm.rc.Dirs))
	for _, s := range vm.rc.Dirs {
		n := s.Name
		if n == "" {
			n = filepath.Base(s.Path)
		}
		shares = append(shares, guestsim.Share{Name: n, HostPath: s.Path, ReadOnly: s.ReadOnly})
	}
	sock := ""
	if vm.agent {
		sock = vm.d.controlSock()
	}
	_ = os.MkdirAll(vm.d.guestHome(), 0o755)
	sshDelay := e.knobDuration("TART_SIM_SSH_DELAY", 100*time.Millisecond)
	if vm.resumed {
		sshDelay = 0 // sshd was already listening when the state was saved
	}
	return guestsim.Config{
		VMName: vm.d.name, VMDir: vm.d.path, OS: vm.cfg.OS, IP: vm.ip, SSHPort: port,
		User: vm.meta.User, Password: vm.meta.Password, HomeDir: vm.d.guestHome(),
		Shares: shares, AgentSocket: sock,
		SSHDelay:     sshDelay,
		SSHRefuse:    e.knobSet("TART_SIM_SSH_REFUSE"),
		SSHDropAfter: e.knobDuration("TART_SIM_SSH_DROP_AFTER", 0),
		SlowOutput:   e.knobDuration("TART_SIM_SLOW_OUTPUT", 0),
	}
}

// loop runs the VM until a signal, the guest's shutdown or a fault ends it.
func (vm *simVM) loop(sigs <-chan os.Signal) error {
	e := vm.e

	defer vm.console.close()
	ipDelay := e.knobDuration("TART_SIM_IP_DELAY", 100*time.Millisecond)
	if vm.resumed {
		fmt.Fprintln(e.stdout, "restoring VM state from a snapshot...")
		if msg := restoreError(vm.d.statePath(), vm.cfg, vm.rc.Dirs, resumeFault(e) == "refuse"); msg != "" {
			vm.log.event("resume failed")
			return runtimeFailf("%s", msg)
		}
		_ = os.Remove(vm.d.statePath())
		fmt.Fprintln(e.stdout, "resuming VM...")
		vm.log.event("resumed")
		// The guest was running when it was saved: its network is up again
		// as soon as the state is loaded.
		ipDelay = e.knobDuration("TART_SIM_RESUME_DELAY", 100*time.Millisecond)
	} else {
		vm.console.boot()
	}
	var dieC <-chan time.Time
	if d := e.knobDuration("TART_SIM_DIE_AFTER", 0); d > 0 {
		dieC = time.After(d)
	}
	bootC := time.After(ipDelay)
	var guestDone chan error
	var loginC <-chan time.Time // when the guest's SSH answers: the console shows the login prompt
	var vncC <-chan time.Time
	if vm.rc.VNC {
		vncC = time.After(60 * time.Second) // IP wait bound, like tart's --vnc
	}
	if vm.rc.VNCExperimental {
		vm.announceVNC(experimentalVNCURL())
	}
	for {
		select {
		case <-bootC:
			bootC = nil
			if !vm.noIP {
				leaseTime := e.knobDuration("TART_SIM_LEASE_TIME", 86400*time.Second)
				if err := vm.e.home.publishLease(lease{name: vm.d.name, ip: vm.ip, mac: vm.cfg.MACAddress,
					expiry: time.Now().Add(leaseTime)}); err != nil {
					fmt.Fprintf(e.stderr, "tart-sim: cannot publish the DHCP lease: %v\n", err)
				}
				vm.log.event("ip %s", vm.ip)
				vm.console.networkUp()
				if vm.rc.VNC {
					vncC = nil
					vm.printVNC()
				}
			}
			if vm.noGuest {
				vm.log.event("no guest of its own (ip %s shared with a running VM of the same MAC, or a garbled resume)", vm.ip)
				continue
			}
			gc := vm.guestConfig()
			g, err := guestsim.Spawn(gc)
			if err != nil {
				return runtimeFailf("guest has stopped the virtual machine due to error: tart-sim: cannot start the guest: %v", err)
			}
			vm.guest = g
			vm.log.event("guest spawned")
			guestDone = make(chan error, 1)
			go func() { guestDone <- g.Wait() }()
			loginC = time.After(gc.SSHDelay)
		case <-loginC:
			loginC = nil
			vm.console.loginReady()
		case <-vncC:
			vm.stopGuest()
			return runtimeFailf("IPNotFound()")
		case err := <-guestDone:
			vm.guest = nil
			if err != nil {
				vm.log.event("guest exited: %v", err)
			}
			vm.console.powerOff()
			fmt.Fprintln(e.stdout, "guest has stopped the virtual machine")
			return nil
		case <-dieC:
			return vm.die()
		case req := <-vm.faults:
			switch req.kind {
			case "die":
				req.reply <- nil
				return vm.die()
			case guestsim.FaultDropSSH, guestsim.FaultKillAgent:
				if vm.guest == nil {
					// Not booted yet: no connection to drop; a killed agent never starts.
					if req.kind == guestsim.FaultKillAgent {
						vm.agent = false
					}
					req.reply <- nil
					continue
				}
				req.reply <- vm.guest.Fault(req.kind)
			default:
				req.reply <- fmt.Errorf("unknown fault %q: use drop-ssh, die, kill-agent or crash", req.kind)
			}
		case sig := <-sigs:
			switch sig {
			case syscall.SIGINT:
				fmt.Fprintln(e.stdout, "Stopping VM...")
				if e.knobSet("TART_SIM_STOP_HANG") {
					continue // fault: the VM does not stop; `tart stop` has to SIGKILL
				}
				vm.stopGuest()
				vm.log.event("stopped")
				return nil
			case syscall.SIGUSR2:
				fmt.Fprintln(e.stdout, "Requesting guest OS to stop...")
				vm.stopGuest()
				vm.console.powerOff()
				fmt.Fprintln(e.stdout, "guest has stopped the virtual machine")
				return nil
			case syscall.SIGUSR1:
				return vm.suspend()
			}
		}
	}
}

func (vm *simVM) printVNC() { vm.announceVNC("vnc://" + vm.ip) }

// announceVNC prints the URL, or "opens" it when a window could be shown.
func (vm *simVM) announceVNC(url string) {
	_, ci := vm.e.lookup("CI")
	if vm.rc.NoGraphics || ci {
		fmt.Fprintf(vm.e.stdout, "VNC server is running at %s\n", url)
	} else {
		fmt.Fprintf(vm.e.stdout, "Opening %s...\n", url)
	}
}

func (vm *simVM) stopGuest() {
	if vm.guest != nil {
		_ = vm.guest.Stop()
		_ = vm.guest.Wait()
		vm.guest = nil
	}
}

// die is the VM stopping with an error: tart prints it and exits 0.
func (vm *simVM) die() error {
	vm.stopGuest()
	vm.log.event("died")
	fmt.Fprintln(vm.e.stdout, "guest has stopped the virtual machine due to error: Internal Virtualization error. The virtual machine stopped unexpectedly.")
	return nil
}

// suspend handles SIGUSR1: only macOS VMs run with --suspendable (or resumed) can snapshot.
func (vm *simVM) suspend() error {
	e := vm.e
	if vm.cfg.OS != "darwin" || !(vm.rc.Suspendable || vm.resumed) {
		vm.stopGuest()
		fmt.Fprintln(e.stdout, "Failed to suspend the VM: Invalid virtual machine configuration. Unsupported console device in configuration.")
		return &exitCode{exitFailure}
	}
	fmt.Fprintln(e.stdout, "pausing VM to take a snapshot...")
	fmt.Fprintln(e.stdout, "creating a snapshot...")
	if err := writeSnapshot(vm.d.statePath(), vm.cfg, vm.rc.Dirs); err != nil {
		fmt.Fprintf(e.stdout, "Failed to suspend the VM: %v\n", err)
		vm.stopGuest()
		return &exitCode{exitFailure}
	}
	fmt.Fprintln(e.stdout, "snapshot created successfully! shutting down the VM...")
	vm.stopGuest()
	vm.log.event("suspended")
	return nil
}

// resumeFault is TART_SIM_RESUME_FAIL: "" (none), "garble" (the restore
// succeeds but the guest's network never comes back), anything else
// "refuse" (the restore fails and tart run exits 1).
func resumeFault(e *env) string {
	switch v := e.getenv("TART_SIM_RESUME_FAIL"); v {
	case "", "garble":
		return v
	}
	return "refuse"
}

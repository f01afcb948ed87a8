package tartsim_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestVersion(t *testing.T) {
	s := newSim(t)
	if out := s.must("--version"); out != "2.32.1\n" {
		t.Fatalf("version %q", out)
	}
	if r := s.tartEnv([]string{"TART_SIM_VERSION=2.26.0"}, "--version"); r.stdout != "2.26.0\n" {
		t.Fatalf("override: %v", r)
	}
}

// Clone, run, ip, second run refused, delete refused, stop, stale IP, delete.
func TestLifecycle(t *testing.T) {
	s := newSim(t)
	if out := s.must("clone", linuxImage, "vm"); !strings.Contains(out, "100%") || strings.Contains(out, "pulling "+linuxImage) {
		t.Fatalf("clone of an uncached image should show pull progress without the 'pulling <name>' line:\n%s", out)
	}
	if st := s.state("vm"); st != "stopped" {
		t.Fatalf("state %s", st)
	}
	run := s.startRunning("vm", nil)

	ip := strings.TrimSpace(s.must("ip", "vm", "--wait", "10"))
	if parsed := net.ParseIP(ip); parsed == nil || !strings.HasPrefix(ip, "127.") {
		t.Fatalf("ip %q", ip)
	}
	// The same IP through the agent resolver (after boot).
	eventually(t, 10*time.Second, "agent ip", func() bool {
		r := s.tart("ip", "vm", "--resolver", "agent")
		return r.code == 0 && strings.TrimSpace(r.stdout) == ip
	})

	s.expect(s.tart("run", "vm"), 2, "VM \"vm\" is already running!\n")
	s.expect(s.tart("delete", "vm"), 1, "VM \"vm\" is running\n")

	r := s.tart("stop", "vm")
	s.expect(r, 0, "")
	if code := run.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("tart run exit %d", code)
	}
	if out := run.out.String(); out != "Stopping VM...\n" {
		t.Fatalf("tart run output %q", out)
	}
	if st := s.state("vm"); st != "stopped" {
		t.Fatalf("state after stop %s", st)
	}

	// dhcp: the unexpired lease of a stopped VM is still returned.
	if out := s.must("ip", "vm"); strings.TrimSpace(out) != ip {
		t.Fatalf("stale ip %q, want %q", out, ip)
	}
	// arp knows only live guests; a failing call takes about 1 s.
	r = s.tart("ip", "vm", "--resolver", "arp")
	s.expect(r, 1, "no IP address found, is your VM running? (not all Linux distributions are compatible with the ARP resolver)\n")
	if r.took < time.Second {
		t.Fatalf("failing tart ip returned after %v, tart takes >= 1s", r.took)
	}
	s.expect(s.tart("ip", "vm", "--resolver", "agent"), 1,
		"no IP address found, is your VM running? (also make sure that Guest agent for Tart is running inside of a VM)\n")

	s.expect(s.tart("stop", "vm"), 2, "VM \"vm\" is not running\n")
	s.expect(s.tart("delete", "vm"), 0, "")
	s.expect(s.tart("get", "vm"), 2, "the specified VM \"vm\" does not exist\n")
	s.expect(s.tart("run", "vm"), 1, "Error: the specified VM \"vm\" does not exist\n")
	s.expect(s.tart("ip", "vm"), 2, "the specified VM \"vm\" does not exist\n")
}

// A SIGKILLed tart run leaves no stale state: the kernel drops the locks
// and the guest dies with it.
func TestKilledRunFreesLock(t *testing.T) {
	s := newSim(t)
	s.must("clone", linuxImage, "vm")
	run := s.startRunning("vm", nil)
	if err := run.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := run.wait(t, 5*time.Second); code != -1 {
		t.Fatalf("exit %d", code)
	}
	eventually(t, 5*time.Second, "state stopped", func() bool { return s.state("vm") == "stopped" })
	eventually(t, 5*time.Second, "guest gone", func() bool { return len(simProcesses()) == 0 })
	// It can run again.
	run = s.startRunning("vm", nil)
	s.must("stop", "vm")
	run.wait(t, 5*time.Second)
}

func TestMacOSLimit(t *testing.T) {
	s := newSim(t)
	s.must("pull", macImage)
	for _, vm := range []string{"a", "b", "c"} {
		s.must("clone", macImage, vm)
	}
	s.must("clone", linuxImage, "l1")
	s.must("clone", "l1", "l2")
	s.startRunning("a", nil)
	s.startRunning("l1", nil)
	s.startRunning("b", nil)
	s.startRunning("l2", nil) // Linux guests are not limited
	r := s.tart("run", "c", "--no-graphics")
	s.expect(r, 1, "The number of VMs exceeds the system limit (other running VMs: a, b, l1, l2)\n")
	if st := s.state("c"); st != "stopped" {
		t.Fatalf("refused VM is %s", st)
	}
	s.must("stop", "a")
	run := s.startRunning("c", nil)
	s.must("stop", "c")
	run.wait(t, 5*time.Second)
}

func TestStopEscalatesToSIGKILL(t *testing.T) {
	s := newSim(t)
	s.must("clone", linuxImage, "vm")
	run := s.startRunning("vm", []string{"TART_SIM_STOP_HANG=1"})
	r := s.tart("stop", "vm", "--timeout", "1")
	s.expect(r, 0, "")
	if r.took < time.Second || r.took > 10*time.Second {
		t.Fatalf("stop took %v, want about the 1s timeout", r.took)
	}
	if code := run.wait(t, 5*time.Second); code != -1 {
		t.Fatalf("tart run should die by SIGKILL, exit %d", code)
	}
	if st := s.state("vm"); st != "stopped" {
		t.Fatalf("state %s", st)
	}
}

func TestGuestShutdownSignals(t *testing.T) {
	s := newSim(t)
	s.must("clone", linuxImage, "vm")
	run := s.startRunning("vm", nil)
	if err := run.cmd.Process.Signal(syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	if code := run.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if out := run.out.String(); out != "Requesting guest OS to stop...\nguest has stopped the virtual machine\n" {
		t.Fatalf("output %q", out)
	}
}

func TestSuspendResume(t *testing.T) {
	s := newSim(t)
	s.must("clone", macImage, "mac")
	s.expect(s.tart("suspend", "mac"), 2, "VM \"VM \"mac\" is not running\" is not running\n")
	run := s.startRunning("mac", nil, "--suspendable")
	s.expect(s.tart("suspend", "mac"), 0, "")
	if code := run.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, run.out)
	}
	want := "pausing VM to take a snapshot...\ncreating a snapshot...\nsnapshot created successfully! shutting down the VM...\n"
	if out := run.out.String(); out != want {
		t.Fatalf("output %q", out)
	}
	if st := s.state("mac"); st != "suspended" {
		t.Fatalf("state %s", st)
	}
	// Resume restores and removes the snapshot.
	run = s.startRunning("mac", nil)
	eventually(t, 5*time.Second, "resume lines", func() bool {
		return run.out.String() == "restoring VM state from a snapshot...\nresuming VM...\n"
	})
	if _, err := os.Stat(filepath.Join(s.home, "vms", "mac", "state.vzvmsave")); !os.IsNotExist(err) {
		t.Fatalf("snapshot still there: %v", err)
	}
	s.must("suspend", "mac")
	run.wait(t, 10*time.Second)
	// Stopping a suspended VM discards the snapshot.
	s.expect(s.tart("stop", "mac"), 0, "")
	if st := s.state("mac"); st != "stopped" {
		t.Fatalf("state %s", st)
	}
}

func TestSuspendLinuxFails(t *testing.T) {
	s := newSim(t)
	s.must("clone", linuxImage, "vm")
	run := s.startRunning("vm", nil)
	s.must("suspend", "vm")
	if code := run.wait(t, 10*time.Second); code != 1 {
		t.Fatalf("exit %d", code)
	}
	if !strings.HasPrefix(run.out.String(), "Failed to suspend the VM: ") {
		t.Fatalf("output %q", run.out)
	}
}

func TestDieAfterAndFaults(t *testing.T) {
	s := newSim(t)
	s.must("clone", linuxImage, "vm")
	run := s.startRunning("vm", []string{"TART_SIM_DIE_AFTER=300ms"})
	if code := run.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.HasPrefix(run.out.String(), "guest has stopped the virtual machine due to error: ") {
		t.Fatalf("output %q", run.out)
	}

	run = s.startRunning("vm", nil)
	s.must("sim", "fault", "vm", "die")
	if code := run.wait(t, 10*time.Second); code != 0 || !strings.Contains(run.out.String(), "due to error") {
		t.Fatalf("fault die: exit %d %q", code, run.out)
	}

	run = s.startRunning("vm", nil)
	s.must("sim", "fault", "vm", "crash")
	if code := run.wait(t, 10*time.Second); code != -1 {
		t.Fatalf("fault crash: exit %d", code)
	}
	eventually(t, 5*time.Second, "stopped", func() bool { return s.state("vm") == "stopped" })

	r := s.tart("sim", "fault", "vm", "die")
	s.expect(r, 2, "VM \"vm\" is not running\n")
	run = s.startRunning("vm", nil)
	r = s.tart("sim", "fault", "vm", "explode")
	if r.code != 1 || !strings.Contains(r.stderr, "unknown fault") {
		t.Fatalf("unknown fault: %v", r)
	}
	s.must("stop", "vm")
	run.wait(t, 5*time.Second)
}

func TestNoIP(t *testing.T) {
	s := newSim(t)
	s.must("clone", linuxImage, "vm")
	run := s.startRunning("vm", []string{"TART_SIM_NO_IP=1"})
	s.expect(s.tart("ip", "vm", "--wait", "1"), 1, "no IP address found\n")
	s.must("stop", "vm")
	run.wait(t, 5*time.Second)
}

func TestIPDelayAndWait(t *testing.T) {
	s := newSim(t)
	s.must("clone", linuxImage, "vm")
	run := s.startRunning("vm", []string{"TART_SIM_IP_DELAY=4s"})
	s.expect(s.tart("ip", "vm"), 1, "no IP address found\n")
	r := s.tart("ip", "vm", "--wait", "10")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "127.") {
		t.Fatalf("ip --wait: %v", r)
	}
	s.must("stop", "vm")
	run.wait(t, 5*time.Second)
}

// Two running VMs never share an address.
func TestUniqueIPs(t *testing.T) {
	s := newSim(t)
	s.must("clone", linuxImage, "a")
	s.must("clone", "a", "b")
	ra := s.startRunning("a", nil)
	rb := s.startRunning("b", nil)
	ipa := s.must("ip", "a", "--wait", "5")
	ipb := s.must("ip", "b", "--wait", "5")
	if ipa == ipb {
		t.Fatalf("both VMs got %s", ipa)
	}
	s.must("stop", "a")
	s.must("stop", "b")
	ra.wait(t, 5*time.Second)
	rb.wait(t, 5*time.Second)
}

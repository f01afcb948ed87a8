package tartsim_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// consoleFile is an empty file for --serial-path, as a caller prepares it.
func consoleFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "console.log")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func readConsole(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A Linux guest boots on the console, shows a login prompt once SSH is up,
// and prints its power-off when asked to shut down (SIGUSR2).
func TestConsole_LinuxGuestBootsAndPowersOff(t *testing.T) {
	s := newSim(t)
	s.must("clone", linuxImage, "web")
	p := consoleFile(t)
	run := s.startRunning("web", nil, "--serial-path", p)
	eventually(t, 10*time.Second, "login prompt on the console", func() bool {
		return strings.HasSuffix(readConsole(t, p), "\nweb login: ")
	})
	out := readConsole(t, p)
	for _, want := range []string{
		"] Linux version 6.8.0-tart-sim (",
		"] systemd[1]: Hostname set to <web>.\n",
		"] systemd[1]: Reached target Multi-User System.\n",
		"\nUbuntu 24.04.1 LTS web hvc0\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`^\[ {4}0\.\d{6}\] Booting Linux`).MatchString(out) {
		t.Errorf("console does not start with a kernel-stamped line:\n%s", out)
	}
	// The SSH server the prompt promises does answer.
	s.must("ip", "web", "--wait", "10")

	if err := run.cmd.Process.Signal(syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	if code := run.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("tart run exit %d: %s", code, run.out)
	}
	if got := run.out.String(); got != "Requesting guest OS to stop...\nguest has stopped the virtual machine\n" {
		t.Errorf("tart run output %q (the console must not leak into it)", got)
	}
	out = readConsole(t, p)
	if !strings.Contains(out, "web login: \n[") {
		t.Errorf("shutdown output does not start on a new line after the prompt:\n%s", out)
	}
	if !regexp.MustCompile(`\] systemd-shutdown\[1\]: Powering off\.\n\[[ \d.]+\] reboot: Power down\n$`).MatchString(out) {
		t.Errorf("console does not end with the power-off:\n%s", out)
	}
}

// `tart stop` is a hard stop: the guest never shuts down, so no power-off.
func TestConsole_HardStopPrintsNoPowerOff(t *testing.T) {
	s := newSim(t)
	s.must("clone", linuxImage, "vm")
	p := consoleFile(t)
	run := s.startRunning("vm", nil, "--serial-path", p)
	eventually(t, 10*time.Second, "login prompt", func() bool {
		return strings.HasSuffix(readConsole(t, p), "vm login: ")
	})
	s.must("stop", "vm")
	run.wait(t, 10*time.Second)
	if out := readConsole(t, p); strings.Contains(out, "Power down") || !strings.HasSuffix(out, "vm login: ") {
		t.Errorf("hard stop changed the console:\n%s", out)
	}
}

// macOS does not use the virtio console: the file stays empty for the
// whole life of the VM, shutdown included.
func TestConsole_MacOSGuestWritesNothing(t *testing.T) {
	s := newSim(t)
	s.must("clone", macImage, "mac")
	p := consoleFile(t)
	run := s.startRunning("mac", nil, "--serial-path", p)
	s.must("ip", "mac", "--wait", "10")
	eventually(t, 10*time.Second, "guest agent", func() bool { return s.tart("exec", "mac", "true").code == 0 })
	if err := run.cmd.Process.Signal(syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	run.wait(t, 10*time.Second)
	if out := readConsole(t, p); out != "" {
		t.Errorf("macOS guest wrote to the console:\n%s", out)
	}
}

// With --serial the console is the PTY tart announces: a reader of that
// tty sees the boot log.
func TestConsole_SerialPTYCarriesTheBootLog(t *testing.T) {
	s := newSim(t)
	s.must("clone", linuxImage, "vm")
	run := s.startRunning("vm", nil, "--serial")
	var tty string
	eventually(t, 10*time.Second, "pty announcement", func() bool {
		line, _, ok := strings.Cut(run.out.String(), "\n")
		tty = strings.TrimPrefix(line, "Successfully open pty ")
		return ok && tty != line
	})
	f, err := os.OpenFile(tty, os.O_RDONLY|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	found := false
	for !found && sc.Scan() {
		found = strings.Contains(sc.Text(), "systemd[1]: Reached target Multi-User System.")
	}
	if !found {
		t.Fatalf("no boot log on %s: %v", tty, sc.Err())
	}
	s.must("stop", "vm")
	run.wait(t, 10*time.Second)
}

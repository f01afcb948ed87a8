package tartsim_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Every command but pull and clone GCs unlocked tmp/ entries first.
func TestTmpGarbageCollection(t *testing.T) {
	s := newSim(t)
	s.must("list")
	stale := filepath.Join(s.home, "tmp", "stale")
	busy := filepath.Join(s.home, "tmp", "busy")
	for _, d := range []string{stale, busy} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(busy)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	s.must("list")
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatal("unlocked tmp entry survived")
	}
	if _, err := os.Stat(busy); err != nil {
		t.Fatal("locked tmp entry was removed")
	}
}

// A VM whose MAC is in use by a running VM gets a new one at start.
func TestRunResetsDuplicateMAC(t *testing.T) {
	s := newSim(t)
	s.must("clone", linuxImage, "a")
	s.must("clone", "a", "b")
	cfgA, _ := os.ReadFile(filepath.Join(s.home, "vms", "a", "config.json"))
	if err := os.WriteFile(filepath.Join(s.home, "vms", "b", "config.json"), cfgA, 0o644); err != nil {
		t.Fatal(err)
	}
	ra := s.startRunning("a", nil)
	rb := s.startRunning("b", nil)
	eventually(t, 5*time.Second, "reset lines", func() bool {
		return rb.out.String() == "There is already a running VM with the same MAC address!\nResetting VM to assign a new MAC address...\n"
	})
	cfgB, _ := os.ReadFile(filepath.Join(s.home, "vms", "b", "config.json"))
	if string(cfgB) == string(cfgA) {
		t.Fatal("MAC not changed")
	}
	if a, b := s.must("ip", "a", "--wait", "5"), s.must("ip", "b", "--wait", "5"); a == b {
		t.Fatalf("same IP %s", a)
	}
	s.must("stop", "a")
	s.must("stop", "b")
	ra.wait(t, 5*time.Second)
	rb.wait(t, 5*time.Second)
}

func TestBootLogAndCleanExit(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "boot.log")
	s := newSim(t, "TART_SIM_BOOT_LOG="+logPath)
	s.must("clone", linuxImage, "vm")
	run := s.startRunning("vm", nil)
	ip := strings.TrimSpace(s.must("ip", "vm", "--wait", "5"))
	var ri struct{ SimSocket string }
	b, _ := os.ReadFile(filepath.Join(s.home, "vms", "vm", "sim-run.json"))
	_ = json.Unmarshal(b, &ri)
	s.must("stop", "vm")
	run.wait(t, 5*time.Second)
	log, _ := os.ReadFile(logPath)
	for _, ev := range []string{" vm started pid=", " vm ip " + ip, " vm guest spawned", " vm stopped"} {
		if !strings.Contains(string(log), ev) {
			t.Errorf("boot log lacks %q:\n%s", ev, log)
		}
	}
	// A clean exit leaves no socket and no IP reservation behind.
	if _, err := os.Stat(ri.SimSocket); ri.SimSocket == "" || !os.IsNotExist(err) {
		t.Errorf("sim socket %q left: %v", ri.SimSocket, err)
	}
	if _, err := os.Stat(filepath.Join("/tmp/tart-sim-ips", ip+".lock")); !os.IsNotExist(err) {
		t.Errorf("IP reservation left: %v", err)
	}
}

// Names that would escape vms/ never touch the file system.
func TestPathTraversalNames(t *testing.T) {
	s := newSim(t)
	s.must("pull", linuxImage)
	for _, name := range []string{"..", "../cache", "a/../../cache"} {
		if r := s.tart("delete", name); r.code != 2 {
			t.Errorf("delete %q: %v", name, r)
		}
		if r := s.tart("get", name); r.code != 2 {
			t.Errorf("get %q: %v", name, r)
		}
	}
	for _, dst := range []string{"..", ".", "x/y"} {
		if r := s.tart("clone", linuxImage, dst); r.code != 64 {
			t.Errorf("clone to %q: %v", dst, r)
		}
	}
	s.must("clone", linuxImage, "ok")
	if r := s.tart("rename", "ok", ".."); r.code != 64 {
		t.Errorf("rename to ..: %v", r)
	}
	if r := s.tart("create", "../evil", "--linux"); r.code != 1 {
		t.Errorf("create ../evil: %v", r)
	}
	if out := s.must("list", "--source", "oci", "-q"); !strings.Contains(out, linuxImage) {
		t.Fatalf("cache damaged: %q", out)
	}
	if _, err := os.Stat(filepath.Join(s.home, "evil")); !os.IsNotExist(err) {
		t.Fatal("create escaped vms/")
	}
}

func TestConsoleAndVNCAnnouncements(t *testing.T) {
	s := newSim(t)
	s.must("clone", linuxImage, "vm")
	run := s.startRunning("vm", nil, "--serial", "--vnc")
	eventually(t, 5*time.Second, "serial and VNC lines", func() bool {
		out := run.out.String()
		return strings.HasPrefix(out, "Successfully open pty /dev/") && strings.Contains(out, "\nVNC server is running at vnc://127.")
	})
	s.must("stop", "vm")
	run.wait(t, 5*time.Second)
	s.expect(s.tart("run", "vm", "--serial-path", "/nonexistent/tty"), 1, "Failed to open PTY\n")
	run = s.startRunning("vm", nil, "--vnc-experimental")
	eventually(t, 5*time.Second, "experimental VNC line", func() bool {
		return regexpMatch(`^VNC server is running at vnc://:[a-z]+(-[a-z]+){3}@127\.0\.0\.1:\d+\n`, run.out.String())
	})
	s.must("stop", "vm")
	run.wait(t, 5*time.Second)
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

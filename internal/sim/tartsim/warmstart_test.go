package tartsim_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Warm starts: suspended snapshots, clones of them, resume checks, and the
// MAC clash of two clones of one snapshot.

// suspendedSnapshot makes a suspended macOS VM "snap" (started --suspendable).
func suspendedSnapshot(t *testing.T, s *sim, args ...string) {
	t.Helper()
	s.must("clone", macImage, "snap")
	run := s.startRunning("snap", nil, append([]string{"--suspendable"}, args...)...)
	eventually(t, 10*time.Second, "guest agent of snap", func() bool { return s.tart("exec", "snap", "true").code == 0 })
	s.must("suspend", "snap")
	if code := run.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("suspend: exit %d: %s", code, run.out)
	}
	if st := s.state("snap"); st != "suspended" {
		t.Fatalf("snap is %s", st)
	}
}

func vmMAC(t *testing.T, s *sim, vm string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.home, "vms", vm, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		MAC string `json:"macAddress"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.MAC
}

func TestResumeIsFasterThanBootAndHasItsOwnDelay(t *testing.T) {
	s := newSim(t, "TART_SIM_IP_DELAY=3s", "TART_SIM_SSH_DELAY=1s", "TART_SIM_RESUME_DELAY=200ms")
	suspendedSnapshot(t, s)
	s.must("clone", "snap", "job")
	if a, b := vmMAC(t, s, "snap"), vmMAC(t, s, "job"); a != b {
		t.Fatalf("clone of a suspended VM changed the MAC: %s -> %s", a, b)
	}
	if st := s.state("job"); st != "suspended" {
		t.Fatalf("clone of a suspended VM is %s, want suspended", st)
	}
	start := time.Now()
	run := s.start(nil, "job", "--no-graphics")
	eventually(t, 10*time.Second, "agent of the resumed VM", func() bool { return s.tart("exec", "job", "true").code == 0 })
	if took := time.Since(start); took >= 3*time.Second {
		t.Fatalf("resumed guest answered after %v: the boot delays were used", took)
	}
	if out := run.out.String(); out != "restoring VM state from a snapshot...\nresuming VM...\n" {
		t.Fatalf("run output %q", out)
	}
	// The snapshot is consumed; the resumed VM can be suspended again.
	s.must("suspend", "job")
	if code := run.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("second suspend: exit %d: %s", code, run.out)
	}
	st, err := os.Stat(filepath.Join(s.home, "vms", "job", "state.vzvmsave"))
	if err != nil || st.Size() != 8192<<20 {
		t.Fatalf("state.vzvmsave: %v (size %d, want the guest's memory size)", err, st.Size())
	}
}

func TestResumeRefusedAfterHardwareChange(t *testing.T) {
	s := newSim(t)
	suspendedSnapshot(t, s)
	for _, c := range []struct {
		set  []string
		want string
	}{
		{[]string{"--random-mac"}, "MAC address"},
		{[]string{"--cpu", "6"}, "CPU count"},
		{[]string{"--memory", "12288"}, "memory size"},
	} {
		s.must("clone", "snap", "changed")
		s.must(append([]string{"set", "changed"}, c.set...)...)
		if st := s.state("changed"); st != "suspended" {
			t.Fatalf("set %v dropped the snapshot: %s", c.set, st)
		}
		r := s.tart("run", "changed", "--no-graphics")
		if r.code != 1 || !strings.Contains(r.stderr, "failed to restore") || !strings.Contains(r.stderr, c.want) {
			t.Fatalf("set %v: resume should fail naming %q: %v", c.set, c.want, r)
		}
		s.must("delete", "changed")
	}
	// Other directory shares than at suspend time are refused too.
	s.must("clone", "snap", "shared")
	r := s.tart("run", "shared", "--no-graphics", "--dir", "work:"+t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, "directory shares") {
		t.Fatalf("resume with a new share: %v", r)
	}
}

func TestResumeFaults(t *testing.T) {
	s := newSim(t)
	suspendedSnapshot(t, s)
	s.must("clone", "snap", "refused")
	r := s.tartEnv([]string{"TART_SIM_RESUME_FAIL=refuse"}, "run", "refused", "--no-graphics")
	if r.code != 1 || !strings.Contains(r.stderr, "failed to restore") {
		t.Fatalf("refused resume: %v", r)
	}
	// A garbled resume runs but the guest never answers; dhcp still
	// returns the snapshot's (stale) lease, so only a connection check
	// notices.
	s.must("clone", "snap", "garbled")
	run := s.startRunning("garbled", []string{"TART_SIM_RESUME_FAIL=garble"})
	if r := s.tart("ip", "garbled"); r.code != 0 {
		t.Fatalf("dhcp should return the stale lease: %v", r)
	}
	if r := s.tart("ip", "garbled", "--resolver", "agent"); r.code != 1 {
		t.Fatalf("agent resolver on a garbled guest: %v", r)
	}
	if r := s.tart("exec", "garbled", "true"); r.code != 1 {
		t.Fatalf("exec on a garbled guest: %v", r)
	}
	s.must("stop", "garbled")
	run.wait(t, 10*time.Second)
}

// Two clones of one snapshot in one TART_HOME: tart's own MAC check resets
// the second one, which then boots cold (its saved state is deleted).
func TestSharedSnapshotSameHomeSecondBootsCold(t *testing.T) {
	s := newSim(t)
	suspendedSnapshot(t, s)
	s.must("clone", "snap", "a")
	s.must("clone", "snap", "b")
	ra := s.startRunning("a", nil)
	rb := s.startRunning("b", nil)
	eventually(t, 10*time.Second, "b's output", func() bool { return strings.Contains(rb.out.String(), "Resetting VM") })
	if strings.Contains(rb.out.String(), "restoring VM state") {
		t.Fatalf("b resumed although its MAC was reset: %q", rb.out)
	}
	if vmMAC(t, s, "a") == vmMAC(t, s, "b") {
		t.Fatal("b kept a's MAC")
	}
	_ = ra
}

// Two clones of one snapshot running from different TART_HOMEs (tart's
// MAC check sees only its own home): one DHCP lease, one IP for both, and
// connections to it reach the first VM.
func TestSameMACAcrossHomesSharesIP(t *testing.T) {
	s1 := newSim(t)
	suspendedSnapshot(t, s1)
	s2 := newSim(t)
	if err := os.MkdirAll(filepath.Join(s2.home, "vms"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", filepath.Join(s1.home, "vms", "snap"), filepath.Join(s2.home, "vms", "snap")).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	s1.startRunning("snap", nil)
	eventually(t, 10*time.Second, "first VM's agent", func() bool { return s1.tart("exec", "snap", "true").code == 0 })
	s2.startRunning("snap", nil)
	ip1 := strings.TrimSpace(s1.must("ip", "snap", "--wait", "5"))
	ip2 := strings.TrimSpace(s2.must("ip", "snap", "--wait", "5"))
	if ip1 != ip2 {
		t.Fatalf("same MAC, different IPs %s %s: the clash is not visible", ip1, ip2)
	}
	if r := s2.tart("exec", "snap", "true"); r.code != 1 {
		t.Fatalf("the second VM should have no guest of its own: %v", r)
	}
}

package tartsim_test

import (
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func sshPort() string {
	if os.Geteuid() != 0 {
		return "22022"
	}
	return "22"
}

func dialGuest(t *testing.T, ip string) (*ssh.Client, error) {
	t.Helper()
	cfg := &ssh.ClientConfig{User: "admin", Auth: []ssh.AuthMethod{ssh.Password("admin")},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second}
	return ssh.Dial("tcp", net.JoinHostPort(ip, sshPort()), cfg)
}

// The guest's sshd listens on the VM's IP; the drop-ssh fault cuts live connections.
func TestSSHAndDropFault(t *testing.T) {
	s := newSim(t)
	s.must("clone", linuxImage, "vm")
	run := s.startRunning("vm", nil)
	ip := strings.TrimSpace(s.must("ip", "vm", "--wait", "5"))
	var c *ssh.Client
	eventually(t, 10*time.Second, "ssh up", func() bool {
		var err error
		c, err = dialGuest(t, ip)
		return err == nil
	})
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.Output("echo hello")
	if err != nil || string(out) != "hello\n" {
		t.Fatalf("ssh exec: %q %v", out, err)
	}
	s.must("sim", "fault", "vm", "drop-ssh")
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("connection survived drop-ssh")
	}
	s.must("stop", "vm")
	run.wait(t, 5*time.Second)
}

func TestSSHRefuse(t *testing.T) {
	s := newSim(t)
	s.must("clone", linuxImage, "vm")
	run := s.startRunning("vm", []string{"TART_SIM_SSH_REFUSE=1"})
	ip := strings.TrimSpace(s.must("ip", "vm", "--wait", "5"))
	eventually(t, 10*time.Second, "sshd accepting TCP", func() bool {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, sshPort()), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if c, err := dialGuest(t, ip); err == nil {
		c.Close()
		t.Fatal("ssh accepted despite TART_SIM_SSH_REFUSE")
	}
	s.must("stop", "vm")
	run.wait(t, 5*time.Second)
}

// Racing runs of one VM: exactly one wins, the others get exit 2.
func TestConcurrentRunsOfOneVM(t *testing.T) {
	s := newSim(t)
	s.must("clone", linuxImage, "vm")
	const n = 4
	runs := make([]*vmRun, n)
	for i := range runs {
		runs[i] = s.start(nil, "vm", "--no-graphics")
	}
	eventually(t, 10*time.Second, "losers exit", func() bool {
		exited := 0
		for _, r := range runs {
			select {
			case <-r.done:
				exited++
			default:
			}
		}
		return exited == n-1
	})
	winners := 0
	for _, r := range runs {
		select {
		case <-r.done:
			if r.code != 2 || r.out.String() != "VM \"vm\" is already running!\n" {
				t.Errorf("loser: exit %d %q", r.code, r.out)
			}
		default:
			winners++
		}
	}
	if winners != 1 {
		t.Fatalf("%d winners", winners)
	}
	s.must("stop", "vm")
	for _, r := range runs {
		r.wait(t, 5*time.Second)
	}
}

func TestConcurrentPullsWaitForLock(t *testing.T) {
	s := newSim(t, "TART_SIM_PULL_DELAY=50ms")
	var wg sync.WaitGroup
	outs := make([]result, 2)
	for i := range outs {
		wg.Add(1)
		go func() { defer wg.Done(); outs[i] = s.tart("pull", linuxImage) }()
	}
	wg.Wait()
	joined := outs[0].stdout + outs[1].stdout
	if outs[0].code != 0 || outs[1].code != 0 || strings.Count(joined, "100%") != 1 ||
		!strings.Contains(joined, "image is already cached and linked!") {
		t.Fatalf("concurrent pulls:\n%v\n%v", outs[0], outs[1])
	}
}

func TestSSHDropAfter(t *testing.T) {
	s := newSim(t)
	s.must("clone", linuxImage, "vm")
	run := s.startRunning("vm", []string{"TART_SIM_SSH_DROP_AFTER=300ms"})
	ip := strings.TrimSpace(s.must("ip", "vm", "--wait", "5"))
	var c *ssh.Client
	eventually(t, 10*time.Second, "ssh up", func() bool {
		var err error
		c, err = dialGuest(t, ip)
		return err == nil
	})
	defer c.Close()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case <-done:
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("dropped after %v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("connection not dropped")
	}
	s.must("stop", "vm")
	run.wait(t, 5*time.Second)
}

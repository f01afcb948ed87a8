package guestsim

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shoenig/test/must"
	"golang.org/x/crypto/ssh"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == GuestCommand {
		Main()
	}
	if len(os.Args) > 1 && os.Args[1] == spawnParentCommand {
		spawnParentMain()
	}
	// Spawned guests are this race-built binary: skip its 1 s exit pause.
	_ = os.Setenv("GORACE", "atexit_sleep_ms=0")
	os.Exit(m.Run())
}

// ipSeq hands every test guest its own loopback address in 127.77.0.0/16,
// offset by pid so parallel test processes do not collide.
var ipSeq atomic.Uint32

func nextIP() string {
	n := uint32(os.Getpid()%200)*256 + ipSeq.Add(1)
	return fmt.Sprintf("127.77.%d.%d", (n/254)%256, n%254+1)
}

// freePort finds a port free on ip right now.
func freePort(t *testing.T, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	must.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// testConfig is a guest config with a fresh home, VM dir, IP and port.
func testConfig(t *testing.T) Config {
	t.Helper()
	vmDir := t.TempDir()
	ip := nextIP()
	return Config{
		VMName:      "test-vm",
		VMDir:       vmDir,
		OS:          "darwin",
		IP:          ip,
		SSHPort:     freePort(t, ip),
		User:        "admin",
		Password:    "s3cret",
		HomeDir:     t.TempDir(),
		AgentSocket: filepath.Join(vmDir, "control.sock"),
	}
}

// serve starts an in-process guest stopped at test end.
func serve(t *testing.T, cfg Config) Config {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	wait, err := Serve(ctx, cfg)
	must.NoError(t, err)
	t.Cleanup(func() {
		cancel()
		must.NoError(t, wait())
	})
	return cfg
}

func sshAddr(cfg Config) string { return net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.SSHPort)) }

func dialPassword(t *testing.T, cfg Config, password string) (*ssh.Client, error) {
	t.Helper()
	return ssh.Dial("tcp", sshAddr(cfg), &ssh.ClientConfig{
		User:            cfg.User,
		Auth:            []ssh.AuthMethod{ssh.Password(password)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         10 * time.Second,
	})
}

func mustDial(t *testing.T, cfg Config) *ssh.Client {
	t.Helper()
	c, err := dialPassword(t, cfg, cfg.Password)
	must.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// result is what a user of an SSH session sees.
type result struct {
	stdout, stderr string
	err            error // *ssh.ExitError for non-zero / signal
}

func run(t *testing.T, c *ssh.Client, command string, stdin string) result {
	t.Helper()
	s, err := c.NewSession()
	must.NoError(t, err)
	defer s.Close()
	var out, errb bytes.Buffer
	s.Stdout, s.Stderr = &out, &errb
	if stdin != "" {
		s.Stdin = strings.NewReader(stdin)
	}
	err = s.Run(command)
	return result{out.String(), errb.String(), err}
}

func newKey(t *testing.T) (ssh.Signer, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	must.NoError(t, err)
	s, err := ssh.NewSignerFromKey(priv)
	must.NoError(t, err)
	p, err := ssh.NewPublicKey(pub)
	must.NoError(t, err)
	return s, p
}

// syncBuffer is a bytes.Buffer safe for a writer and a poller.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// processGone reports whether pid no longer runs (gone or a zombie).
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// state is the field after the ")" closing the command name
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	must.NoError(t, err)
	return n
}

// descendants lists the host pids of every process below pid (from /proc).
func descendants(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	must.NoError(t, err)
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		children[ppid] = append(children[ppid], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

package guest

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoenig/test/must"
	"golang.org/x/crypto/ssh"

	"github.com/tartanhq/tartan/internal/sim/guestsim"
	"github.com/tartanhq/tartan/internal/testenv"
)

// simGuest is an in-process simulated guest (guestsim.Serve).
type simGuest struct {
	cfg guestsim.Config
	ssh SSHConfig
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	must.NoError(t, l.Close())
	return port
}

// startGuest serves a simulated guest until the test ends.
func startGuest(t testing.TB, mutate func(*guestsim.Config)) simGuest {
	t.Helper()
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	must.NoError(t, os.MkdirAll(home, 0o755))
	cfg := guestsim.Config{
		VMName:   "guest-test",
		VMDir:    dir,
		OS:       "linux",
		IP:       "127.0.0.1",
		SSHPort:  freePort(t),
		User:     "admin",
		Password: "admin",
		HomeDir:  home,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	wait, err := guestsim.Serve(ctx, cfg)
	must.NoError(t, err)
	t.Cleanup(func() {
		cancel()
		_ = wait()
	})
	return simGuest{cfg: cfg, ssh: SSHConfig{
		Addr:        net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.SSHPort)),
		User:        cfg.User,
		Password:    cfg.Password,
		DialTimeout: 5 * time.Second,
		RetryUntil:  5 * time.Second,
		// Simulated guest commands are host processes: keep their private
		// files in the test's own directory so nothing is left behind.
		GuestTempDir: t.TempDir(),
	}}
}

// dial connects to g and closes the connection at the end of the test.
func dial(t testing.TB, cfg SSHConfig) *SSH {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := DialSSH(ctx, cfg)
	must.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// hostKeyLine returns the simulated guest's public host key (authorized_keys format).
func hostKeyLine(t testing.TB, vmDir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vmDir, "ssh_host_ed25519_key"))
	must.NoError(t, err)
	signer, err := ssh.ParsePrivateKey(b)
	must.NoError(t, err)
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
}

// syncBuffer is a goroutine-safe output sink tests can poll.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// noLeaks fails the test if goroutines started during it are still running
// at its end (polled with a deadline: shutdown is asynchronous).
func noLeaks(t *testing.T) {
	t.Helper()
	before := liveGoroutines()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for liveGoroutines() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				n := runtime.Stack(buf, true)
				t.Errorf("goroutines leaked: %d before, %d after\n%s", before, liveGoroutines(), buf[:n])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// liveGoroutines counts the goroutines of the process except x/crypto/ssh's
// stuck channel open (see testenv.Goroutines).
func liveGoroutines() int {
	n, _ := testenv.Goroutines()
	return n
}

func runCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

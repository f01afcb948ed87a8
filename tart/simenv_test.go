package tart

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tartanhq/tartan/internal/testenv"
)

// Helpers for the integration tests against tart-sim.

const (
	ubuntuImage = "ghcr.io/cirruslabs/ubuntu:latest"
	macosImage  = "ghcr.io/cirruslabs/macos-sequoia-base:latest"
)

var (
	simPathMu sync.Mutex
	simPath   string
)

// sim returns a client on tart-sim with its own TART_HOME. Any VM still
// running at the end of the test is stopped.
func sim(t *testing.T, env ...string) (*Client, string) {
	t.Helper()
	bin := testenv.TartSim(t)
	// Default run logs land in os.TempDir(): keep them inside the test.
	t.Setenv("TMPDIR", t.TempDir())
	simPathMu.Lock()
	simPath = bin
	simPathMu.Unlock()
	home := t.TempDir()
	c, err := New(Options{Binary: bin, Home: home, NoAutoPrune: true, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopAll(t, c) })
	return c, home
}

// simBinary builds tart-sim once and remembers its path for the leak check.
func simBinary(tb testing.TB) string {
	bin := testenv.TartSim(tb)
	simPathMu.Lock()
	simPath = bin
	simPathMu.Unlock()
	return bin
}

func stopAll(t *testing.T, c *Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	vms, err := c.List(ctx, ListOptions{Source: "local"})
	if err != nil {
		t.Errorf("cleanup list: %v", err)
		return
	}
	for _, vm := range vms {
		if vm.State == StateRunning {
			if err := c.Stop(ctx, vm.Name, 5*time.Second); err != nil && !errors.Is(err, ErrNotRunning) {
				t.Errorf("cleanup stop %s: %v", vm.Name, err)
			}
		}
	}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func mustClone(t *testing.T, c *Client, src, dst string) {
	t.Helper()
	if err := c.Clone(ctxT(t, time.Minute), src, dst, CloneOptions{}); err != nil {
		t.Fatalf("clone %s %s: %v", src, dst, err)
	}
}

func mustRun(t *testing.T, c *Client, name string, o RunOptions) *RunHandle {
	t.Helper()
	o.NoGraphics = true
	h, err := c.Run(ctxT(t, time.Minute), name, o)
	if err != nil {
		t.Fatalf("run %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Stop(ctx, name, 5*time.Second); err != nil && !errors.Is(err, ErrNotRunning) && !errors.Is(err, ErrVMNotFound) {
			t.Errorf("cleanup stop %s: %v", name, err)
		}
		select {
		case <-h.Done():
		case <-time.After(15 * time.Second):
			t.Errorf("tart run %s (pid %d) still alive at the end of the test", name, h.PID)
			_ = signalGroup(h.PID)
		}
	})
	return h
}

func stateOf(t *testing.T, c *Client, name string) State {
	t.Helper()
	info, err := c.Get(ctxT(t, 10*time.Second), name)
	if err != nil {
		t.Fatalf("get %s: %v", name, err)
	}
	return info.State
}

func listState(t *testing.T, c *Client, name string) State {
	t.Helper()
	vms, err := c.List(ctxT(t, 10*time.Second), ListOptions{})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	for _, vm := range vms {
		if vm.Name == name {
			return vm.State
		}
	}
	t.Fatalf("%s not in list %+v", name, vms)
	return ""
}

func assertKind(t *testing.T, err, kind error) *Error {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("got %v, want %v", err, kind)
	}
	var te *Error
	if !errors.As(err, &te) {
		t.Fatalf("%T is not *tart.Error: %v", err, err)
	}
	return te
}

func writeCatalog(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "catalog.json")
	cat := `[{"name": "registry.example.com/team/private:1", "os": "linux",
	  "credentials": {"username": "robot", "password": "s3cret-pw"}}]`
	if err := os.WriteFile(p, []byte(cat), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Package testenv gives tests the project's binaries (tart-sim and friends)
// built once per test process, plus isolated homes for them.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	buildMu  sync.Mutex
	built    = map[string]string{}
	buildDir string
)

// ModuleRoot returns the repository root (the directory holding go.mod).
func ModuleRoot(tb testing.TB) string {
	tb.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("testenv: cannot locate source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Binary builds ./cmd/<name> once per test process and returns its path.
// The binary lives in a process-wide temp dir removed by Cleanup (call it
// from TestMain) or left to the OS temp cleaner otherwise.
func Binary(tb testing.TB, name string) string {
	tb.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	if buildDir == "" {
		d, err := os.MkdirTemp("", "tartan-testbin-")
		if err != nil {
			tb.Fatalf("testenv: %v", err)
		}
		buildDir = d
	}
	out := filepath.Join(buildDir, name)
	cmd := exec.Command("go", "build", "-o", out, "./cmd/"+name)
	cmd.Dir = ModuleRoot(tb)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("testenv: building %s: %v\n%s", name, err, b)
	}
	built[name] = out
	return out
}

// TartSim returns the path of a freshly built tart-sim binary. Tests use it as
// the tart binary: the simulator answers to any executable name.
func TartSim(tb testing.TB) string { return Binary(tb, "tart-sim") }

// Cleanup removes the binaries built by this process. Call it at the end of
// TestMain.
func Cleanup() {
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildDir != "" {
		if err := os.RemoveAll(buildDir); err != nil {
			fmt.Fprintln(os.Stderr, "testenv:", err)
		}
		buildDir = ""
		built = map[string]string{}
	}
}

// PrivateTempDir points TMPDIR at a fresh directory for the rest of the test
// process and returns a function that removes it and restores TMPDIR. Call it
// from TestMain in packages whose libraries leave temp dirs behind (Nomad's
// driver harness and agents create some they never remove).
func PrivateTempDir() (restore func()) {
	old, had := os.LookupEnv("TMPDIR")
	dir, err := os.MkdirTemp("", "tartan-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return func() {}
	}
	_ = os.Setenv("TMPDIR", dir)
	return func() {
		if had {
			_ = os.Setenv("TMPDIR", old)
		} else {
			_ = os.Unsetenv("TMPDIR")
		}
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintln(os.Stderr, "testenv:", err)
		}
	}
}

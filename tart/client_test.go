package tart

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTart writes a shell script standing in for tart. It appends its argv
// to $dir/calls and answers per subcommand; FAKE_* variables in Options.Env
// steer it. Unit tests use it for plumbing (env, streaming, cancel); the
// integration tests use tart-sim.
func fakeTart(t *testing.T) (bin, dir string) {
	t.Helper()
	dir = t.TempDir()
	bin = filepath.Join(dir, "tart")
	script := `#!/bin/sh
echo "$*" >> "` + dir + `/calls"
case "$1" in
--version)
  if [ -n "$FAKE_VERSION_HANG" ] && [ ! -e "` + dir + `/release" ]; then
    i=0; while [ ! -e "` + dir + `/release" ]; do i=$((i+1)); [ $i -gt 1000 ] && exit 9; sleep 0.01; done
  fi
  echo "${FAKE_VERSION:-2.32.1}" ;;
env) env ;;
ip) printf 'warning: something\n%s\n' "${FAKE_IP:-192.168.64.3}" ;;
pull)
  echo "pulling $2..."
  echo "10%"
  i=0
  while [ ! -e "` + dir + `/go-on" ]; do i=$((i+1)); [ $i -gt 500 ] && exit 9; sleep 0.01; done
  echo "100%"
  ;;
hang)
  sleep 300 &
  echo $! > "` + dir + `/child.pid"
  wait
  ;;
exec)
  [ -n "$FAKE_EXEC_SIGNAL" ] && kill -9 $$
  echo "out"
  echo "Error: guest tool failed" >&2
  exit 3
  ;;
*) echo "unexpected $1" >&2; exit 1 ;;
esac
`
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, dir
}

func calls(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "calls"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func newFake(t *testing.T, o Options) (*Client, string) {
	t.Helper()
	bin, dir := fakeTart(t)
	o.Binary = bin
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c, dir
}

func TestChildEnvironment(t *testing.T) {
	t.Setenv("TART_REGISTRY_USERNAME", "inherited-user")
	t.Setenv("TART_REGISTRY_PASSWORD", "inherited-secret")
	t.Setenv("CI", "false")
	c, _ := newFake(t, Options{Home: "/tmp/th", NoAutoPrune: true, Env: []string{"EXTRA=1"}})
	ctx := context.Background()

	plain, err := c.run(ctx, call{args: []string{"env"}})
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Split(string(plain.stdout), "\n")
	for _, want := range []string{"CI=1", "TART_HOME=/tmp/th", "TART_NO_AUTO_PRUNE=1", "EXTRA=1"} {
		if !slices.Contains(env, want) {
			t.Errorf("child env lacks %s", want)
		}
	}
	for _, kv := range env {
		if strings.HasPrefix(kv, "TART_REGISTRY_") || kv == "CI=false" {
			t.Errorf("child env carries %q it was not given", kv)
		}
	}

	withCreds, err := c.run(ctx, call{args: []string{"env"}, creds: &Credentials{Username: "u", Password: "p4ss", Hostname: "ghcr.io"}})
	if err != nil {
		t.Fatal(err)
	}
	env = strings.Split(string(withCreds.stdout), "\n")
	for _, want := range []string{"TART_REGISTRY_USERNAME=u", "TART_REGISTRY_PASSWORD=p4ss", "TART_REGISTRY_HOSTNAME=ghcr.io"} {
		if !slices.Contains(env, want) {
			t.Errorf("child env lacks %s", want)
		}
	}
	if strings.Contains(string(withCreds.stdout), "inherited-secret") {
		t.Error("inherited credential leaked next to the call's own")
	}
}

func TestNewRejectsRegistryCredentialsInEnv(t *testing.T) {
	bin, _ := fakeTart(t)
	_, err := New(Options{Binary: bin, Env: []string{"TART_REGISTRY_PASSWORD=x"}})
	if !errors.Is(err, ErrUsage) || strings.Contains(err.Error(), "=x") {
		t.Fatalf("got %v", err)
	}
	if _, err := New(Options{Binary: bin, Env: []string{"NOEQUALS"}}); !errors.Is(err, ErrUsage) {
		t.Fatalf("got %v", err)
	}
}

func TestCredentialsOnlyInEnvNotArgv(t *testing.T) {
	c, dir := newFake(t, Options{})
	if err := os.WriteFile(filepath.Join(dir, "go-on"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := c.Pull(context.Background(), "ghcr.io/org/private:1", PullOptions{Credentials: &Credentials{Username: "bob", Password: "hunter2"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range calls(t, dir) {
		if strings.Contains(line, "hunter2") || strings.Contains(line, "bob") {
			t.Fatalf("credential on the command line: %q", line)
		}
	}
}

func TestBinaryDiscovery(t *testing.T) {
	t.Run("explicit missing", func(t *testing.T) {
		_, err := New(Options{Binary: "/nonexistent/tart"})
		var bnf *BinaryNotFoundError
		if !errors.Is(err, ErrBinaryNotFound) || !errors.As(err, &bnf) || !strings.Contains(err.Error(), "/nonexistent/tart") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("explicit not executable", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "tart")
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := New(Options{Binary: p}); !errors.Is(err, ErrBinaryNotFound) || !strings.Contains(err.Error(), "not executable") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("nothing anywhere", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		_, err := New(Options{})
		if !errors.Is(err, ErrBinaryNotFound) {
			t.Fatalf("got %v", err)
		}
		for _, p := range []string{"$PATH", "/opt/homebrew/bin/tart", "/usr/local/bin/tart"} {
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name %s", err, p)
			}
		}
	})
	t.Run("from PATH", func(t *testing.T) {
		bin, dir := fakeTart(t)
		t.Setenv("PATH", dir)
		c, err := New(Options{})
		if err != nil || c.Binary() != bin {
			t.Fatalf("got %v, %v", c, err)
		}
	})
	t.Run("fallback path", func(t *testing.T) {
		bin, _ := fakeTart(t)
		t.Setenv("PATH", t.TempDir())
		saved := fallbackPaths
		t.Cleanup(func() { fallbackPaths = saved })
		fallbackPaths = []string{"/nonexistent/tart", bin}
		c, err := New(Options{})
		if err != nil || c.Binary() != bin {
			t.Fatalf("got %v, %v", c, err)
		}
	})
}

func TestProgressArrivesWhileRunning(t *testing.T) {
	c, dir := newFake(t, Options{})
	var mu sync.Mutex
	var lines []string
	err := c.Pull(context.Background(), "ghcr.io/org/img:1", PullOptions{Progress: func(l string) {
		mu.Lock()
		lines = append(lines, l)
		mu.Unlock()
		// The fake prints "100%" only after this file exists: the callback
		// must run while tart is still running.
		if l == "10%" {
			if err := os.WriteFile(filepath.Join(dir, "go-on"), nil, 0o600); err != nil {
				t.Error(err)
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"pulling ghcr.io/org/img:1...", "10%", "100%"}
	if !slices.Equal(lines, want) {
		t.Fatalf("progress %q, want %q", lines, want)
	}
}

func TestVersionDetectedOnce(t *testing.T) {
	c, dir := newFake(t, Options{Env: []string{"FAKE_VERSION=2.28.1"}})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			v, err := c.Version(context.Background())
			if err != nil || v.String() != "2.28.1" {
				t.Errorf("Version = %v, %v", v, err)
			}
		})
	}
	wg.Wait()
	n := 0
	for _, l := range calls(t, dir) {
		if l == "--version" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("tart --version ran %d times, want 1", n)
	}
}

func TestUnsupportedFeatureStopsBeforeTartRuns(t *testing.T) {
	c, dir := newFake(t, Options{Env: []string{"FAKE_VERSION=2.26.0"}})
	ctx := context.Background()
	_, err := c.Exec(ctx, "vm", []string{"true"}, ExecOptions{})
	var ue *UnsupportedError
	if !errors.As(err, &ue) || !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Exec on 2.26.0: %v", err)
	}
	if err.Error() != "tart 2.26.0 does not support exec; it needs tart >= 2.27.0" {
		t.Fatalf("message: %q", err)
	}
	if _, err := c.IP(ctx, "vm", IPOptions{Resolver: ResolverAgent}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("agent resolver on 2.26.0: %v", err)
	}
	if _, err := c.Run(ctx, "vm", RunOptions{Net: Network{SoftnetBlock: []string{"10.0.0.0/8"}}}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("softnet-block on 2.26.0: %v", err)
	}
	if got := calls(t, dir); !slices.Equal(got, []string{"--version"}) {
		t.Fatalf("tart ran %q; only --version expected", got)
	}
	if err := c.Supports(ctx, FeatureNested); err != nil {
		t.Fatalf("nested on 2.26.0: %v", err)
	}
}

func TestIPParsesLastLine(t *testing.T) {
	c, _ := newFake(t, Options{})
	ip, err := c.IP(context.Background(), "vm", IPOptions{})
	if err != nil || ip != "192.168.64.3" {
		t.Fatalf("IP = %q, %v", ip, err)
	}
	c, _ = newFake(t, Options{Env: []string{"FAKE_IP=not-an-ip"}})
	if _, err := c.IP(context.Background(), "vm", IPOptions{}); !errors.Is(err, ErrNoIP) || !strings.Contains(err.Error(), "not-an-ip") {
		t.Fatalf("garbage IP: %v", err)
	}
}

func TestExecPassesGuestExitCode(t *testing.T) {
	c, _ := newFake(t, Options{})
	var out, errOut strings.Builder
	code, err := c.Exec(context.Background(), "vm", []string{"make"}, ExecOptions{Stdout: &out, Stderr: &errOut})
	if err != nil || code != 3 {
		t.Fatalf("Exec = %d, %v; want guest exit 3 and no error", code, err)
	}
	if out.String() != "out\n" || errOut.String() != "Error: guest tool failed\n" {
		t.Fatalf("streams: %q / %q", out.String(), errOut.String())
	}
}

func TestDeadlineKillsProcessGroup(t *testing.T) {
	c, dir := newFake(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.run(ctx, call{args: []string{"hang"}})
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > waitDelay {
		t.Fatalf("call took %s after its deadline", d)
	}
	pidFile := filepath.Join(dir, "child.pid")
	assertProcessGone(t, readPID(t, pidFile))
}

func TestCancelIsNotTimeout(t *testing.T) {
	c, dir := newFake(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		waitFor(t, 10*time.Second, func() bool { _, err := os.Stat(filepath.Join(dir, "child.pid")); return err == nil })
		cancel()
	}()
	_, err := c.run(ctx, call{args: []string{"hang"}})
	if errors.Is(err, ErrTimeout) || !errors.Is(err, context.Canceled) || !errors.Is(err, ErrFailed) {
		t.Fatalf("got %v, want ErrFailed wrapping context.Canceled", err)
	}
	assertProcessGone(t, readPID(t, filepath.Join(dir, "child.pid")))
}

func TestExecTartKilledIsAnError(t *testing.T) {
	c, _ := newFake(t, Options{Env: []string{"FAKE_EXEC_SIGNAL=1"}})
	code, err := c.Exec(context.Background(), "vm", []string{"make"}, ExecOptions{})
	if code != -1 || !errors.Is(err, ErrFailed) {
		t.Fatalf("Exec = %d, %v; want -1 and ErrFailed", code, err)
	}
}

func TestLineWriterSplitsAcrossWrites(t *testing.T) {
	var got []string
	var all bytes.Buffer
	w := &lineWriter{out: &all, fn: func(l string) { got = append(got, l) }}
	for _, chunk := range []string{"pul", "ling...\n10", "%\r\n20%\n", "tail"} {
		if n, err := w.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if !slices.Equal(got, []string{"pulling...", "10%", "20%"}) {
		t.Fatalf("before flush: %q", got)
	}
	w.flush()
	if !slices.Equal(got, []string{"pulling...", "10%", "20%", "tail"}) || all.String() != "pulling...\n10%\r\n20%\ntail" {
		t.Fatalf("after flush: %q / %q", got, all.String())
	}
}

func TestVersionWaitRespectsEachCallersContext(t *testing.T) {
	c, dir := newFake(t, Options{Env: []string{"FAKE_VERSION_HANG=1"}})
	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.Version(short); !errors.Is(err, ErrTimeout) {
		t.Fatalf("short ctx: %v", err)
	}
	// The probe keeps running for the next caller; let it finish.
	if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := c.Version(ctxT(t, 20*time.Second))
	if err != nil || v.String() != "2.32.1" {
		t.Fatalf("Version = %v, %v", v, err)
	}
	n := 0
	for _, l := range calls(t, dir) {
		if l == "--version" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("tart --version ran %d times, want 1 shared probe", n)
	}
}

func TestJSONNeedsTart037(t *testing.T) {
	c, dir := newFake(t, Options{Env: []string{"FAKE_VERSION=0.36.0"}})
	if _, err := c.Get(context.Background(), "vm"); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Get on 0.36.0: %v", err)
	}
	if _, err := c.List(context.Background(), ListOptions{}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("List on 0.36.0: %v", err)
	}
	if got := calls(t, dir); !slices.Equal(got, []string{"--version"}) {
		t.Fatalf("tart ran %q", got)
	}
}

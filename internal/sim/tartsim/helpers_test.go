package tartsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tartanhq/tartan/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		// Guests of SIGKILLed runs die asynchronously (Pdeathsig): allow them a bounded moment.
		deadline := time.Now().Add(10 * time.Second)
		for len(simProcesses()) > 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if leftovers := simProcesses(); len(leftovers) > 0 {
			fmt.Fprintf(os.Stderr, "leaked tart-sim processes: %v\n", leftovers)
			code = 1
		}
	}
	testenv.Cleanup()
	os.Exit(code)
}

var simBinary string // set by the first newSim

// simProcesses lists live processes running this test's tart-sim binary
// (tart run and its guests): after every test there must be none.
func simProcesses() []string {
	if simBinary == "" {
		return nil
	}
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || exe != simBinary {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if strings.Contains(string(stat), ") Z ") {
			continue // zombie awaiting its parent's wait: not running
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out = append(out, e.Name()+":"+strings.ReplaceAll(string(cmd), "\x00", " "))
	}
	return out
}

// sim runs tart-sim commands against a private TART_HOME.
type sim struct {
	t    testing.TB
	bin  string
	home string
	env  []string
}

func newSim(t testing.TB, extraEnv ...string) *sim {
	t.Helper()
	bin := testenv.TartSim(t)
	simBinary = bin
	s := &sim{t: t, bin: bin, home: t.TempDir()}
	s.env = append(os.Environ(), "TART_HOME="+s.home, "CI=1", "TART_SIM_IP_DELAY=0", "TART_SIM_SSH_DELAY=0")
	if os.Geteuid() != 0 {
		s.env = append(s.env, "TART_SIM_SSH_PORT=22022")
	}
	s.env = append(s.env, extraEnv...)
	t.Cleanup(func() {
		// Nothing may outlive a test: stop whatever still runs in this home.
		deadline := time.Now().Add(10 * time.Second)
		for {
			left := s.running()
			if len(left) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("VMs still running after cleanup: %v", left)
				return
			}
			for _, vm := range left {
				s.tart("stop", vm, "--timeout", "2")
			}
		}
	})
	return s
}

type result struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %q\nstderr: %q", r.code, r.stdout, r.stderr)
}

// tart runs one command to completion (bounded) with optional extra env.
func (s *sim) tartEnv(env []string, args ...string) result {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, args...)
	cmd.Env = append(append([]string(nil), s.env...), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		s.t.Fatalf("tart %v: %v", args, err)
	}
	if ctx.Err() != nil {
		s.t.Fatalf("tart %v: timed out", args)
	}
	return r
}

func (s *sim) tart(args ...string) result { s.t.Helper(); return s.tartEnv(nil, args...) }

// must runs a command that has to succeed and returns its stdout.
func (s *sim) must(args ...string) string {
	s.t.Helper()
	r := s.tart(args...)
	if r.code != 0 {
		s.t.Fatalf("tart %v: %v", args, r)
	}
	return r.stdout
}

// expect asserts exit code and exact stderr.
func (s *sim) expect(r result, code int, stderr string) {
	s.t.Helper()
	if r.code != code || r.stderr != stderr {
		s.t.Fatalf("want exit %d stderr %q, got %v", code, stderr, r)
	}
}

// vmRun is a background `tart run`.
type vmRun struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	code int
}

type syncBuffer struct {
	mu  chan struct{}
	buf bytes.Buffer
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{mu: make(chan struct{}, 1)} }
func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}
func (b *syncBuffer) String() string {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.String()
}

// start launches `tart run <args>` in its own session; cleanup kills and reaps it.
func (s *sim) start(env []string, args ...string) *vmRun {
	s.t.Helper()
	cmd := exec.Command(s.bin, append([]string{"run"}, args...)...)
	cmd.Env = append(append([]string(nil), s.env...), env...)
	out := newSyncBuffer()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	r := &vmRun{cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		r.code = cmd.ProcessState.ExitCode()
		close(r.done)
	}()
	s.t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-r.done
		}
	})
	return r
}

// wait waits (bounded) for the run to exit and returns its exit code (-1 if killed).
func (r *vmRun) wait(t testing.TB, d time.Duration) int {
	t.Helper()
	select {
	case <-r.done:
		return r.code
	case <-time.After(d):
		t.Fatalf("tart run did not exit within %v; output:\n%s", d, r.out)
		return 0
	}
}

// eventually polls cond every 20ms until it holds or the deadline passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type listEntry struct {
	Source, Name, Accessed, State string
	Disk, Size                    int
	Running                       bool
}

func (s *sim) list() []listEntry {
	s.t.Helper()
	var l []listEntry
	out := s.must("list", "--format", "json")
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		s.t.Fatalf("list json: %v\n%s", err, out)
	}
	return l
}

func (s *sim) state(vm string) string {
	s.t.Helper()
	for _, e := range s.list() {
		if e.Source == "local" && e.Name == vm {
			return e.State
		}
	}
	return "absent"
}

func (s *sim) running() []string {
	var names []string
	r := s.tart("list", "--source", "local", "--format", "json")
	var l []listEntry
	_ = json.Unmarshal([]byte(r.stdout), &l)
	for _, e := range l {
		if e.Running {
			names = append(names, e.Name)
		}
	}
	return names
}

// startRunning starts a VM and waits until tart list reports it running.
func (s *sim) startRunning(vm string, env []string, args ...string) *vmRun {
	s.t.Helper()
	r := s.start(env, append([]string{vm, "--no-graphics"}, args...)...)
	eventually(s.t, 10*time.Second, vm+" running", func() bool {
		select {
		case <-r.done:
			s.t.Fatalf("tart run %s exited early (%d): %s", vm, r.code, r.out)
		default:
		}
		return s.state(vm) == "running"
	})
	return r
}

const (
	linuxImage = "ghcr.io/cirruslabs/ubuntu:latest"
	macImage   = "ghcr.io/cirruslabs/macos-sequoia-base:latest"
)

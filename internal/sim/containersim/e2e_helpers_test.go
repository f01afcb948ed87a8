package containersim_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/tartanhq/tartan/internal/sim/containersim"
	"github.com/tartanhq/tartan/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if echoDir != "" {
		os.RemoveAll(echoDir)
	}
	testenv.Cleanup()
	os.Exit(code)
}

// sim runs the built container-sim binary against a private app root.
type sim struct {
	t    testing.TB
	bin  string
	root string
	env  []string
}

type result struct {
	stdout, stderr string
	code           int
}

// newSim returns a started simulator with the busybox image seeded. It
// needs root and runc; at the end it stops everything and fails the test
// if anything leaked.
func newSim(t testing.TB, extraEnv ...string) *sim {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("container-sim runs containers with runc and network namespaces: needs root")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		if _, err := os.Stat("/usr/sbin/runc"); err != nil {
			t.Skip("runc not installed")
		}
	}
	s := &sim{t: t, bin: testenv.Binary(t, "container-sim"), root: t.TempDir()}
	s.env = append(os.Environ(), "CONTAINER_APP_ROOT="+s.root)
	s.env = append(s.env, extraEnv...)
	s.must("system", "start", "--enable-kernel-install")
	s.must("sim", "seed")
	t.Cleanup(func() {
		// KILL first (PID 1 sleepers ignore system stop's TERM for 5 s), then stop.
		_ = s.run("kill", "--all")
		r := s.run("system", "stop")
		if r.code != 0 {
			t.Errorf("system stop: %d %s", r.code, r.stderr)
		}
		// Runtime processes release their lock before they exit: allow a bounded moment.
		deadline := time.Now().Add(10 * time.Second)
		for len(containersim.Leaks(s.root)) > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if l := containersim.Leaks(s.root); len(l) > 0 {
			t.Errorf("leaked after system stop: %v", l)
		}
	})
	return s
}

func (s *sim) command(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(s.bin, args...)
	cmd.Env = append(append([]string{}, s.env...), env...)
	return cmd
}

func (s *sim) runEnv(env []string, args ...string) result {
	s.t.Helper()
	cmd := s.command(env, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatalf("container %v: %v", args, err)
	}
	return result{o.String(), e.String(), code}
}

func (s *sim) run(args ...string) result { s.t.Helper(); return s.runEnv(nil, args...) }

func (s *sim) must(args ...string) string {
	s.t.Helper()
	r := s.run(args...)
	if r.code != 0 {
		s.t.Fatalf("container %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// inspected is the part of inspect's JSON the tests look at.
type inspected struct {
	ID            string `json:"id"`
	Configuration struct {
		InitProcess struct {
			Environment []string `json:"environment"`
		} `json:"initProcess"`
		Resources struct {
			MemoryInBytes uint64 `json:"memoryInBytes"`
		} `json:"resources"`
		ReadOnly bool `json:"readOnly"`
	} `json:"configuration"`
	Status struct {
		State    string `json:"state"`
		Networks []struct {
			IPv4Address string `json:"ipv4Address"`
		} `json:"networks"`
		StartedDate string `json:"startedDate"`
	} `json:"status"`
}

func (s *sim) inspect(id string) inspected {
	s.t.Helper()
	var got []inspected
	must.NoError(s.t, json.Unmarshal([]byte(s.must("inspect", id)), &got))
	must.Len(s.t, 1, got)
	return got[0]
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *sim) bundle(id string) string { return filepath.Join(s.root, "containers", id) }

func (s *sim) logs(id string, args ...string) string {
	return s.must(append(append([]string{"logs"}, args...), id)...)
}

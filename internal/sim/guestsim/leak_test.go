package guestsim

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

// TestServeLeavesNothingBehind: after a guest served SSH and agent sessions
// (finished, running, and cut) and was stopped, no goroutine, process, or
// socket of it remains.
func TestServeLeavesNothingBehind(t *testing.T) {
	// os/signal starts one permanent goroutine on first use (Exec uses it).
	warm := make(chan os.Signal, 1)
	signal.Notify(warm, syscall.SIGWINCH)
	signal.Stop(warm)
	before := runtime.NumGoroutine()
	cfg := testConfig(t)
	ctx, cancel := context.WithCancel(context.Background())
	wait, err := Serve(ctx, cfg)
	must.NoError(t, err)

	c, err := dialPassword(t, cfg, cfg.Password)
	must.NoError(t, err)
	must.NoError(t, run(t, c, "echo hi", "").err)
	s, err := c.NewSession()
	must.NoError(t, err)
	out := &syncBuffer{}
	s.Stdout = out
	must.NoError(t, s.Start(`echo $$; exec sleep 300`)) // still running at stop
	eventually(t, "ssh command started", 10*time.Second, func() bool { return strings.Contains(out.String(), "\n") })
	sshPid := mustAtoi(t, strings.TrimSpace(out.String()))

	code, err := Exec(execCtx(t), cfg.AgentSocket, []string{"true"}, false, false, nil, &bytes.Buffer{}, &bytes.Buffer{})
	must.NoError(t, err)
	must.Eq(t, 0, code)
	agentOut := &syncBuffer{}
	execDone := make(chan error, 1)
	go func() {
		_, err := Exec(context.Background(), cfg.AgentSocket, []string{"sh", "-c", "echo $$; exec sleep 300"}, false, false, nil, agentOut, &bytes.Buffer{})
		execDone <- err
	}()
	eventually(t, "agent command started", 10*time.Second, func() bool { return strings.Contains(agentOut.String(), "\n") })
	agentPid := mustAtoi(t, strings.TrimSpace(agentOut.String()))

	cancel()
	must.NoError(t, wait())
	must.ErrorIs(t, <-execDone, ErrAgentLost) // the VM went away under `tart exec`
	_ = c.Close()

	for _, pid := range []int{sshPid, agentPid} {
		eventually(t, "guest command killed", 10*time.Second, func() bool { return processGone(pid) })
	}
	_, err = os.Stat(cfg.AgentSocket)
	must.True(t, errors.Is(err, os.ErrNotExist))
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestGuestEnvironmentHasNoSecrets(t *testing.T) {
	t.Setenv("TARTAN_TEST_HOST_SECRET", "host-only-value")
	cfg := serve(t, testConfig(t))
	c := mustDial(t, cfg)
	r := run(t, c, "env", "")
	must.NoError(t, r.err)
	must.StrNotContains(t, r.stdout, cfg.Password)
	must.StrNotContains(t, r.stdout, "host-only-value")

	var out bytes.Buffer
	_, err := Exec(execCtx(t), cfg.AgentSocket, []string{"env"}, false, false, nil, &out, &bytes.Buffer{})
	must.NoError(t, err)
	must.StrNotContains(t, out.String(), cfg.Password)
	must.StrNotContains(t, out.String(), "host-only-value")
	must.StrContains(t, out.String(), "HOME="+cfg.HomeDir)
}

func TestSlowOutputFault(t *testing.T) {
	cfg := testConfig(t)
	cfg.SlowOutput = 200 * time.Millisecond
	serve(t, cfg)
	start := time.Now()
	var out bytes.Buffer
	code, err := Exec(execCtx(t), cfg.AgentSocket, []string{"echo", "slow"}, false, false, nil, &out, &bytes.Buffer{})
	must.NoError(t, err)
	must.Eq(t, 0, code)
	must.Eq(t, "slow\n", out.String())
	must.Greater(t, cfg.SlowOutput, time.Since(start))
}

package tart

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const helperEnv = "TART_CLIENT_TEST_HELPER"

// runHelper is the body of the helper process: start a VM, report its pid
// and log, then wait to be killed.
func runHelper() int {
	c, err := New(Options{Binary: os.Getenv("HELPER_TART"), Home: os.Getenv("HELPER_HOME"), NoAutoPrune: true})
	if err != nil {
		fmt.Println("ERR", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := c.Run(ctx, os.Getenv("HELPER_VM"), RunOptions{NoGraphics: true})
	if err != nil {
		fmt.Println("ERR", err)
		return 1
	}
	fmt.Printf("PID %d %s\n", h.PID, h.LogPath)
	time.Sleep(time.Minute) // the test kills us long before
	return 0
}

func startHelperAndKillItsGroup(t *testing.T, tartBin, home, vm string) (int, string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1", "HELPER_TART="+tartBin, "HELPER_HOME="+home, "HELPER_VM="+vm)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "PID ") || strings.HasPrefix(l, "ERR ") {
				lines <- l
				return
			}
		}
		close(lines)
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(time.Minute):
		t.Fatal("helper did not report")
	}
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "PID" {
		t.Fatalf("helper: %q", line)
	}
	pid, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatal(err)
	}
	// Kill the helper's whole process group, as a CI runner does.
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	return pid, f[2]
}

// leftoverSimProcesses lists live processes running the tart-sim binary
// these tests built (Linux /proc; empty elsewhere).
func leftoverSimProcesses() []int {
	simPathMu.Lock()
	bin := simPath
	simPathMu.Unlock()
	if bin == "" {
		return nil
	}
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && strings.TrimSuffix(exe, " (deleted)") == bin && processRunning(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func killAll(pids []int) {
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
}

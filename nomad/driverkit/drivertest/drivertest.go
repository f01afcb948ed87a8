// Package drivertest holds test helpers shared by the Nomad task drivers'
// tests (tartdriver, containerdriver): waiting for a task's exit, reading
// its logs, polling with a deadline, and finding leaked processes.
package drivertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/hashicorp/nomad/plugins/drivers/testutils"
	"github.com/shoenig/test/must"
)

// WaitExit waits up to timeout for task id's result through WaitTask and
// fails the test without one.
func WaitExit(t testing.TB, h *testutils.DriverHarness, id string, timeout time.Duration) *drivers.ExitResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ch, err := h.WaitTask(ctx, id)
	must.NoError(t, err)
	select {
	case res := <-ch:
		must.NotNil(t, res, must.Sprint("wait channel closed without a result"))
		return res
	case <-ctx.Done():
		t.Fatalf("task %s did not exit within %s", id, timeout)
		return nil
	}
}

// ReadLog is what the task wrote to stream ("stdout", "stderr") so far:
// the first log file Nomad's logmon writes ("" before it exists).
func ReadLog(t testing.TB, task *drivers.TaskConfig, stream string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(task.TaskDir().LogDir, fmt.Sprintf("%s.%s.0", task.Name, stream)))
	if os.IsNotExist(err) {
		return ""
	}
	must.NoError(t, err)
	return string(b)
}

// Eventually polls cond until it holds or the deadline passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

package drivertest

import (
	"sync"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/hashicorp/nomad/plugins/drivers/testutils"
)

// AllocDirs makes tasks' alloc dirs and keeps their cleanups per harness,
// so they run together when the test ends, after every DestroyTask (a
// cleanup also closes the harness connection). The zero value is ready.
type AllocDirs struct {
	mu       sync.Mutex
	cleanups map[*testutils.DriverHarness][]func()
}

// Make builds task's alloc dir in h, with logmon when logs is set.
func (a *AllocDirs) Make(h *testutils.DriverHarness, task *drivers.TaskConfig, logs bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cleanups == nil {
		a.cleanups = map[*testutils.DriverHarness][]func(){}
	}
	a.cleanups[h] = append(a.cleanups[h], h.MkAllocDir(task, logs))
}

// CleanUp runs and forgets h's cleanups, in the order they were made.
func (a *AllocDirs) CleanUp(h *testutils.DriverHarness) {
	a.mu.Lock()
	fns := a.cleanups[h]
	delete(a.cleanups, h)
	a.mu.Unlock()
	for _, f := range fns {
		f()
	}
}

package nomade2e

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/tartanhq/tartan/internal/testenv"
)

var (
	sharedMu    sync.Mutex
	sharedAgent *agent
	sharedBins  *binaries
	failed      bool
)

// bins builds (once) the agent, the plugin and tart-sim.
func bins(t *testing.T) binaries {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedBins == nil {
		b := buildBinaries(t)
		sharedBins = &b
	}
	return *sharedBins
}

// devAgent is the one -dev agent shared by the dev-mode scenarios (agents
// are heavy on two cores). Tests using it run one after the other.
func devAgent(t *testing.T) *agent {
	t.Helper()
	b := bins(t)
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedAgent == nil {
		a := newAgent(t, b, true)
		a.start(b.nomad)
		sharedAgent = a
	}
	sharedAgent.t = t
	t.Cleanup(func() {
		if t.Failed() {
			failed = true
		}
	})
	return sharedAgent
}

func TestMain(m *testing.M) {
	restoreTmp := testenv.PrivateTempDir()
	code := m.Run()
	if sharedAgent != nil {
		if leaks := sharedAgent.destroy(failed || code != 0); len(leaks) > 0 {
			fmt.Fprintf(os.Stderr, "e2e: leaked after the dev agent stopped: %v\n", leaks)
			code = 1
		}
	}
	testenv.Cleanup()
	if nomadBuildDir != "" {
		_ = os.RemoveAll(nomadBuildDir)
	}
	restoreTmp()
	os.Exit(code)
}

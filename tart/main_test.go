package tart

import (
	"fmt"
	"os"
	"testing"

	"github.com/tartanhq/tartan/internal/testenv"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(runHelper())
	}
	code := m.Run()
	// Leak check: no tart-sim process started by these tests may survive.
	if left := leftoverSimProcesses(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "leaked tart-sim processes: %v\n", left)
		killAll(left)
		if code == 0 {
			code = 1
		}
	}
	testenv.Cleanup()
	os.Exit(code)
}

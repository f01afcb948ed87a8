package foundation

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tartanhq/tartan/internal/testenv"
)

func TestMain(m *testing.M) {
	if os.Getenv(jobEnv) != "" {
		os.Exit(runJob()) // re-executed as a runner process (jobs_test.go)
	}
	// Runner processes (jobs_test.go) leave their tart run logs in TMPDIR.
	restoreTmp := testenv.PrivateTempDir()
	before, _ := testenv.Goroutines()
	code := m.Run()
	testenv.Cleanup()
	restoreTmp()
	if code == 0 {
		if leaked := goroutinesLeftAbove(before, 10*time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines leaked by the tests:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// goroutinesLeftAbove waits up to d for the goroutine count to come back to
// base (transport and tart-run waiters end shortly after their VM) and
// returns the stacks of any that stay.
func goroutinesLeftAbove(base int, d time.Duration) string {
	deadline := time.Now().Add(d)
	for {
		n, stacks := testenv.Goroutines()
		if n <= base {
			return ""
		}
		if time.Now().After(deadline) {
			return strings.TrimSpace(stacks)
		}
		time.Sleep(20 * time.Millisecond) // no event to wait on: polling the runtime
	}
}

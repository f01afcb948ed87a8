package containerdriver

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/tartanhq/tartan/internal/testenv"
)

func TestMain(m *testing.M) {
	// The driver re-executes this test binary as the per-task supervisor.
	RunSupervisorIfRequested()
	restoreTmp := testenv.PrivateTempDir()
	code := m.Run()
	if leaks := leakedProcesses(); len(leaks) > 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "leaked processes:\n%s\n", strings.Join(leaks, "\n"))
		code = 1
	}
	testenv.Cleanup()
	restoreTmp()
	os.Exit(code)
}

package tartdriver

import (
	"os"
	"testing"

	"github.com/tartanhq/tartan/internal/testenv"
)

func TestMain(m *testing.M) {
	// The driver re-executes this test binary as the per-task supervisor.
	RunSupervisorIfRequested()
	leaveCgroup := enterNomadFreezerCgroup()
	code := m.Run()
	leaveCgroup()
	testenv.Cleanup()
	os.Exit(code)
}

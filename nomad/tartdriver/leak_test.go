package tartdriver

import (
	"os"

	"github.com/tartanhq/tartan/nomad/driverkit/drivertest"
)

// leakedSupervisors lists supervisor processes started from this test
// binary that are still alive: every test must have ended its tasks.
func leakedSupervisors() []string {
	self, _ := os.Executable()
	return drivertest.LeakedProcesses(func(_ string, args []string) bool {
		return len(args) >= 2 && args[0] == self && args[1] == "tart-supervisor"
	})
}

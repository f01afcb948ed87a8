package containerdriver

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/tartanhq/tartan/nomad/driverkit/drivertest"
)

// leakedProcesses lists task supervisors started from this test binary and
// container-sim processes (CLI or per-container runtimes) that are still
// alive: every test must have ended its tasks and stopped its simulator.
func leakedProcesses() []string {
	self, _ := os.Executable()
	return drivertest.LeakedProcesses(func(procDir string, args []string) bool {
		isSupervisor := len(args) >= 2 && args[0] == self && args[1] == supervisorArg
		isSim := simPath != "" && len(args) >= 1 && args[0] == simPath
		return (isSupervisor || isSim) && !zombie(procDir)
	})
}

func zombie(procDir string) bool {
	b, err := os.ReadFile(filepath.Join(procDir, "stat"))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

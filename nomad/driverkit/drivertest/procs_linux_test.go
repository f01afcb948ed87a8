package drivertest

import (
	"os/exec"
	"strconv"
	"testing"

	"github.com/shoenig/test/must"
)

// A live process the matcher picks is reported (after the 5 s it is given
// to go away); once it is reaped it is not.
func TestLeakedProcesses(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	must.NoError(t, cmd.Start()) // returns once the child has exec'd sleep
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	procDir := "/proc/" + strconv.Itoa(cmd.Process.Pid)
	mine := func(dir string, args []string) bool {
		return dir == procDir && len(args) == 2 && args[0] == "sleep" && args[1] == "60"
	}
	got := LeakedProcesses(mine)
	must.Eq(t, []string{procDir + `: ["sleep" "60"]`}, got)

	must.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	must.SliceEmpty(t, LeakedProcesses(mine))
}

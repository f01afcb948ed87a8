package gitlab

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// processStart returns the start time of pid (kern.proc.pid sysctl), an
// identity that survives PID reuse.
func processStart(pid int) (string, bool) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		return "", false
	}
	t := kp.Proc.P_starttime
	return strconv.FormatInt(int64(t.Sec), 10) + "." + strconv.FormatInt(int64(t.Usec), 10), true
}

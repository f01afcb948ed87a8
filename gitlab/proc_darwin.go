package gitlab

import (
	"bytes"
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

// processInfo returns the command name and parent PID of pid.
func processInfo(pid int) (comm string, ppid int, ok bool) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		return "", 0, false
	}
	c := kp.Proc.P_comm[:]
	if i := bytes.IndexByte(c, 0); i >= 0 {
		c = c[:i]
	}
	return string(c), int(kp.Eproc.Ppid), true
}

// processExe is the path of pid's executable (for a script: its
// interpreter), from kern.procargs2: argc, then the exec path.
func processExe(pid int) string {
	b, err := unix.SysctlRaw("kern.procargs2", pid)
	if err != nil || len(b) < 5 {
		return ""
	}
	b = b[4:]
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

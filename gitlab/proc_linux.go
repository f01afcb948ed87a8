package gitlab

import (
	"os"
	"strconv"
	"strings"
)

// processStart returns the start time of pid in clock ticks since boot
// (/proc/<pid>/stat field 22), an identity that survives PID reuse.
func processStart(pid int) (string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", false
	}
	s := string(b)
	// The command name (field 2) may contain spaces; fields after it are
	// counted from the closing parenthesis.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return "", false
	}
	return f[19], true
}

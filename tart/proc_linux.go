package tart

import (
	"os"
	"strconv"
	"strings"
)

// isZombie reports whether pid has exited but was not reaped yet (an
// attached tart run reparented to a PID 1 that does not reap).
func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

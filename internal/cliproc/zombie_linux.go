package cliproc

import (
	"os"
	"strconv"
	"strings"
)

// IsZombie reports whether pid has exited but was not reaped yet (a child
// reparented to a PID 1 that does not reap, common in containers), so that
// kill(pid, 0) alone would still call it alive.
func IsZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

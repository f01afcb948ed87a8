package gitlab

import (
	"os"
	"strconv"
	"strings"
)

// hostMemoryMB is the host's total memory in MiB (for memory = auto); 0 if
// unknown.
func hostMemoryMB() int {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.Atoi(f[1])
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}

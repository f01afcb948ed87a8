package gitlab

import "golang.org/x/sys/unix"

// hostMemoryMB is the host's total memory in MiB (for memory = auto); 0 if
// unknown.
func hostMemoryMB() int {
	n, err := unix.SysctlUint64("hw.memsize")
	if err != nil {
		return 0
	}
	return int(n / (1024 * 1024))
}

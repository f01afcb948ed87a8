package tartdriver

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// enterNomadFreezerCgroup moves the test process into a cgroup-v1 freezer
// group under /nomad when it can (root on a v1 host), the way a Nomad
// client places task processes. Nomad's exec conformance suite checks
// /proc/self/cgroup of an exec'd command for that; with tart-sim, guest
// commands are host processes and inherit the group. On a Mac the guest is
// a real VM and the check does not apply. Returns the undo function.
func enterNomadFreezerCgroup() func() {
	root := "/sys/fs/cgroup/freezer"
	if os.Geteuid() != 0 {
		return func() {}
	}
	if _, err := os.Stat(filepath.Join(root, "cgroup.procs")); err != nil {
		return func() {}
	}
	dir := filepath.Join(root, "nomad", fmt.Sprintf("tartdriver-test-%d", os.Getpid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return func() {}
	}
	pid := []byte(strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), pid, 0o644); err != nil {
		_ = os.Remove(dir)
		return func() {}
	}
	return func() {
		_ = os.WriteFile(filepath.Join(root, "cgroup.procs"), pid, 0o644)
		_ = os.Remove(dir)
	}
}

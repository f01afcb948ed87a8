package containersim

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Leaks lists what the containers of appRoot left behind: live runtime
// processes, network namespace mounts, runc container states and cgroups.
// Tests call it after `system stop` (or after deleting everything) and
// expect an empty list.
func Leaks(appRoot string) []string {
	var out []string
	abs, err := filepath.Abs(appRoot)
	if err != nil {
		abs = appRoot
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := bytes.Split(bytes.TrimRight(cmd, "\x00"), []byte{0})
		if len(args) >= 3 && string(args[1]) == "__runtime" && string(args[2]) == abs {
			stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
			if strings.Contains(string(stat), ") Z ") {
				continue // exited, waiting for its parent to reap it
			}
			out = append(out, "runtime process "+e.Name()+": "+strings.ReplaceAll(string(cmd), "\x00", " "))
		}
	}
	if mi, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, l := range strings.Split(string(mi), "\n") {
			f := strings.Fields(l)
			if len(f) > 4 && strings.HasPrefix(f[4], filepath.Join(abs, "netns")+"/") {
				out = append(out, "netns mount "+f[4])
			}
			if len(f) > 4 && strings.HasPrefix(f[4], filepath.Join(abs, "containers")+"/") {
				out = append(out, "rootfs mount "+f[4])
			}
		}
	}
	if states, err := os.ReadDir(filepath.Join(abs, "runc")); err == nil {
		for _, s := range states {
			out = append(out, "runc state "+s.Name())
		}
	}
	// cgroups of containers of this app root (named container-sim-<id>).
	ids := map[string]bool{}
	if cs, err := os.ReadDir(filepath.Join(abs, "containers")); err == nil {
		for _, c := range cs {
			ids[c.Name()] = true
		}
	}
	for _, p := range []string{"memory", "pids", ""} {
		self := cgroupPaths(os.Getpid())
		rel, ok := self[p]
		if !ok {
			continue
		}
		dir := filepath.Join("/sys/fs/cgroup", p, rel)
		sub, _ := os.ReadDir(dir)
		for _, s := range sub {
			if id, ok := strings.CutPrefix(s.Name(), (&env{root: abs}).cgroupName("")); ok && ids[id] {
				out = append(out, "cgroup "+filepath.Join(dir, s.Name()))
			}
		}
	}
	return out
}

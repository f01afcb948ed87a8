package containersim

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// readStats reads the container's cgroup and /proc counters. The memory
// limit is the configured VM memory, as on a Mac.
func (e *env) readStats(c *container) statsSample {
	s := statsSample{ID: c.ID}
	lim := c.Config.Resources.MemoryInBytes
	s.MemoryLimit = &lim
	pid := c.Status.InitPID
	if pid <= 0 {
		return s
	}
	paths := cgroupPaths(pid)
	if v2, ok := paths[""]; ok && len(paths) == 1 {
		dir := filepath.Join("/sys/fs/cgroup", v2)
		s.MemoryUsage = readUint(filepath.Join(dir, "memory.current"))
		if m := readKeyed(filepath.Join(dir, "cpu.stat"), "usage_usec"); m != nil {
			s.CPUUsec = m
		}
		s.NumProcesses = readUint(filepath.Join(dir, "pids.current"))
		s.BlockRead, s.BlockWrite = ioStatV2(filepath.Join(dir, "io.stat"))
	} else {
		if p, ok := paths["memory"]; ok {
			s.MemoryUsage = readUint(filepath.Join("/sys/fs/cgroup/memory", p, "memory.usage_in_bytes"))
		}
		for k, p := range paths {
			if strings.Contains(k, "cpuacct") {
				if ns := readUint(filepath.Join("/sys/fs/cgroup", k, p, "cpuacct.usage")); ns != nil {
					us := *ns / 1000
					s.CPUUsec = &us
				}
				break
			}
		}
		if p, ok := paths["pids"]; ok {
			s.NumProcesses = readUint(filepath.Join("/sys/fs/cgroup/pids", p, "pids.current"))
		}
		if p, ok := paths["blkio"]; ok {
			s.BlockRead, s.BlockWrite = blkioV1(filepath.Join("/sys/fs/cgroup/blkio", p, "blkio.throttle.io_service_bytes"))
		}
	}
	s.NetRx, s.NetTx = netDev(pid)
	return s
}

// cgroupPaths maps controller list ("memory", "cpu,cpuacct", "" for v2) to path.
func cgroupPaths(pid int) map[string]string {
	out := map[string]string{}
	f, err := os.Open(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" && parts[0] != "0" {
			continue
		}
		for _, ctl := range strings.Split(parts[1], ",") {
			out[ctl] = parts[2]
		}
		if strings.Contains(parts[1], ",") {
			out[parts[1]] = parts[2]
		}
	}
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err != nil {
		delete(out, "") // v1 host: the unified line is not where the counters are
	} else {
		return map[string]string{"": out[""]}
	}
	return out
}

func readUint(path string) *uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return nil
	}
	return &n
}

func readKeyed(path, key string) *uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && f[0] == key {
			if n, err := strconv.ParseUint(f[1], 10, 64); err == nil {
				return &n
			}
		}
	}
	return nil
}

func blkioV1(path string) (*uint64, *uint64) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil
	}
	var r, w uint64
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 {
			continue
		}
		n, _ := strconv.ParseUint(f[2], 10, 64)
		switch f[1] {
		case "Read":
			r += n
		case "Write":
			w += n
		}
	}
	return &r, &w
}

func ioStatV2(path string) (*uint64, *uint64) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil
	}
	var r, w uint64
	for _, f := range strings.Fields(string(b)) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		n, _ := strconv.ParseUint(v, 10, 64)
		switch k {
		case "rbytes":
			r += n
		case "wbytes":
			w += n
		}
	}
	return &r, &w
}

// netDev sums the container's non-loopback interfaces (read through its
// init process, i.e. inside its network namespace).
func netDev(pid int) (*uint64, *uint64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/dev", pid))
	if err != nil {
		return nil, nil
	}
	var rx, tx uint64
	for _, l := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(l, ":")
		if !ok || strings.TrimSpace(name) == "lo" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 9 {
			continue
		}
		r, _ := strconv.ParseUint(f[0], 10, 64)
		t, _ := strconv.ParseUint(f[8], 10, 64)
		rx += r
		tx += t
	}
	return &rx, &tx
}

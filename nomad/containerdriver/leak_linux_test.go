package containerdriver

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// leakedProcesses lists task supervisors started from this test binary and
// container-sim processes (CLI or per-container runtimes) that are still
// alive: every test must have ended its tasks and stopped its simulator.
func leakedProcesses() []string {
	self, _ := os.Executable()
	var out []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		out = out[:0]
		paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			args := bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0})
			isSupervisor := len(args) >= 2 && string(args[0]) == self && string(args[1]) == supervisorArg
			isSim := simPath != "" && len(args) >= 1 && string(args[0]) == simPath
			if (isSupervisor || isSim) && !zombie(filepath.Dir(p)) {
				out = append(out, fmt.Sprintf("%s: %q", filepath.Dir(p), args))
			}
		}
		if len(out) == 0 || time.Now().After(deadline) {
			return out
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func zombie(procDir string) bool {
	b, err := os.ReadFile(filepath.Join(procDir, "stat"))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

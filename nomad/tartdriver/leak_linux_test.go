package tartdriver

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// leakedSupervisors lists supervisor processes started from this test
// binary that are still alive: every test must have ended its tasks.
func leakedSupervisors() []string {
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
			if len(args) >= 2 && string(args[0]) == self && string(args[1]) == "tart-supervisor" {
				out = append(out, fmt.Sprintf("%s: %q", filepath.Dir(p), args))
			}
		}
		if len(out) == 0 || time.Now().After(deadline) {
			return out
		}
		time.Sleep(100 * time.Millisecond)
	}
}

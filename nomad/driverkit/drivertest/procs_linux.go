package drivertest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// LeakedProcesses lists the live processes whose argv leaked says are
// left over ("/proc/PID: argv"), polling up to 5 s for them to go away
// first: a process ending at the same time as the test is not a leak.
// leaked gets the process's /proc directory and argv.
func LeakedProcesses(leaked func(procDir string, args []string) bool) []string {
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
			words := make([]string, len(args))
			for i, a := range args {
				words[i] = string(a)
			}
			if leaked(filepath.Dir(p), words) {
				out = append(out, fmt.Sprintf("%s: %q", filepath.Dir(p), args))
			}
		}
		if len(out) == 0 || time.Now().After(deadline) {
			return out
		}
		time.Sleep(100 * time.Millisecond)
	}
}

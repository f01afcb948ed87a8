package testenv

import (
	"runtime"
	"strings"
)

// upstreamStuckOpen marks the one goroutine x/crypto/ssh can leave behind: a
// channel open that races the connection's teardown waits forever for a
// reply the dead mux never delivers (guest.SSH stops waiting for it and
// reports ErrConnectionLost). It is not ours to end, so leak checks do not
// count it; every other goroutine counts.
const upstreamStuckOpen = "golang.org/x/crypto/ssh.(*mux).openChannel"

// Goroutines returns how many goroutines the process runs, not counting the
// upstream stuck channel open, and the stacks of those it counted.
func Goroutines() (int, string) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var kept []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.TrimSpace(g) != "" && !strings.Contains(g, upstreamStuckOpen) {
			kept = append(kept, g)
		}
	}
	return len(kept), strings.Join(kept, "\n\n")
}

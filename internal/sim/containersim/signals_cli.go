package containersim

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// catchSignals models the attached CLI's handler: SIGINT/SIGTERM are caught;
// 1.x logs the forward failure (forwarding is broken there, §8), pre-1.0
// forwards them to the process; the third one makes the CLI exit 1.
func (e *env) catchSignals(fc *frameConn) func() {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-done:
				return
			case s := <-ch:
				n++
				if n >= 3 {
					fmt.Fprintln(e.stderr, "Received 3 SIGINT/SIGTERM's, forcefully exiting.")
					os.Exit(exitFailure)
				}
				if e.ver.pre1() {
					e.forwardSignal(int(s.(syscall.Signal)))
				}
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}

// forwardSignal is set per attach (the container's bundle).
func (e *env) forwardSignal(sig int) {
	if e.attachedBundle != "" {
		_ = sendControl(e.attachedBundle, controlRequest{Op: "kill", Signal: sig})
	}
}

package containersim

import (
	"bytes"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

func cmdLogs(e *env, p *parsed) error {
	id := p.args[0]
	logsErr := func(cause string) error {
		if !e.ver.atLeast(0, 10) {
			return failf("failed to fetch container logs for %s: %s", id, cause)
		}
		return failf("failed to get logs for container %s (cause: \"%s\")", id,
			czDescRaw(codeInternal, "failed to open container logs: "+cause))
	}
	c, err := e.load(id)
	if err != nil {
		return logsErr("container " + id + " not found")
	}
	var sigs chan os.Signal
	if p.flag("follow") {
		// Caught before the first byte is printed: a reader that signals as
		// soon as it sees output must get 130/143, not a signal death.
		sigs = make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
		defer signal.Stop(sigs)
	}
	name := "stdio.log"
	if p.flag("boot") {
		name = "vminitd.log"
	}
	path := filepath.Join(c.Bundle, name)
	f, err := os.Open(path)
	if err != nil {
		return logsErr("The file \"" + name + "\" couldn't be opened because there is no such file.")
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return failf("%v", err)
	}
	offset := int64(len(data))
	if p.has("n") {
		lines := nonEmptyLines(data)
		n := int(p.int("n", 0))
		if n < len(lines) {
			lines = lines[len(lines)-max(n, 0):]
		}
		for _, l := range lines {
			_, _ = e.stdout.Write(append(l, '\n'))
		}
	} else if t := bytes.Trim(data, "\n"); len(t) > 0 {
		_, _ = e.stdout.Write(append(t, '\n'))
	}
	if !p.flag("follow") {
		return nil
	}
	return e.followLog(f, offset, sigs)
}

// nonEmptyLines splits on newlines and drops empty lines (a trailing
// partial line counts as a line).
func nonEmptyLines(b []byte) [][]byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(l) > 0 {
			out = append(out, l)
		}
	}
	return out
}

// followLog prints what is appended after offset, line by line, empty lines
// dropped. It never returns on its own (not even when the container stops);
// SIGINT/SIGTERM end it with 130/143.
func (e *env) followLog(f *os.File, offset int64, sigs chan os.Signal) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	buf := make([]byte, 64*1024)
	for {
		select {
		case s := <-sigs:
			return &exitCode{128 + int(s.(syscall.Signal))}
		case <-tick.C:
		}
		if st, err := f.Stat(); err == nil && st.Size() < offset {
			offset = 0 // truncated by a restart: follow the new run from its start
		}
		for {
			n, err := f.ReadAt(buf, offset)
			if n > 0 {
				offset += int64(n)
				for _, l := range nonEmptyLines(buf[:n]) {
					if _, werr := e.stdout.Write(append(l, '\n')); werr != nil {
						return &exitCode{exitFailure}
					}
				}
			}
			if err != nil || n == 0 {
				break
			}
		}
	}
}

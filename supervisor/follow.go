package supervisor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/tartanhq/tartan/tart"
)

// Follow turns the supervisor into the log follower of a task without a
// command (the task is the VM): instead of running anything in the guest it
// copies what the VM writes to host files (`tart run`'s output, the guest's
// serial console) into the task's stdout FIFO, line by line, until the
// `tart run` process ends. Because it lives outside the plugin, a plugin
// crash or restart neither loses nor repeats a line.
type Follow struct {
	RunPID int          // the VM's `tart run`; its end ends the follower
	Files  []FollowFile // copied in this order within each poll
}

// FollowFile is one followed file, read from Offset on (the run log is
// appended to across restarts of the task; only this run's part is new).
type FollowFile struct {
	Path   string
	Offset int64
}

// Follower timing. A poll is a read to EOF of each file; a line without its
// newline is shown once it stopped growing for partialFlushAfter (a login
// prompt has no newline and would otherwise wait for the VM's end).
const (
	followPoll = 200 * time.Millisecond
	maxLine    = 64 << 10
)

var partialFlushAfter = time.Second // a variable for tests

// runAlive is how the follower sees the VM's end. A variable for tests.
var runAlive = func(pid int) bool { return tart.Attach("", pid, "").Alive() }

// follow runs the follower to the VM's end. Its Exit is the VM's end as a
// reattached plugin reports it (exit 0: the VM is gone), or an error when
// the output could not be delivered.
func follow(spec *Spec, logger *log.Logger) Exit {
	if spec.StdoutPath == "" {
		return Exit{ExitCode: -1, Err: "follow mode needs StdoutPath"}
	}
	out, err := newFIFOWriter(context.Background(), spec.StdoutPath, fifoWait)
	if err != nil {
		return Exit{ExitCode: -1, Err: err.Error()}
	}
	defer out.Close()
	tails := make([]*tail, len(spec.Follow.Files))
	for i, f := range spec.Follow.Files {
		tails[i] = &tail{path: f.Path, off: f.Offset, logger: logger}
	}
	defer func() {
		for _, t := range tails {
			t.close()
		}
	}()
	for {
		// Liveness first: once the process is seen gone, this poll reads
		// everything it wrote.
		alive := runAlive(spec.Follow.RunPID)
		for _, t := range tails {
			if err := t.pump(out, !alive); err != nil {
				logger.Printf("delivering VM output: %v", err)
				return Exit{ExitCode: -1, Err: "delivering the VM's output to the task log: " + err.Error()}
			}
		}
		if !alive {
			return Exit{ExitCode: 0}
		}
		time.Sleep(followPoll)
	}
}

// tail is one followed file and its undelivered partial line.
type tail struct {
	path      string
	off       int64
	f         *os.File
	partial   []byte
	lastGrown time.Time
	logger    *log.Logger
	warned    bool
}

// pump reads the file to EOF and writes its complete lines to w; the rest
// waits for its newline, unless final (the VM is gone) or it stopped
// growing.
func (t *tail) pump(w io.Writer, final bool) error {
	if t.f == nil {
		f, err := os.Open(t.path)
		if err != nil {
			// The driver creates the files before the VM starts; a missing
			// one is worth one line in the supervisor log, not the task.
			if !t.warned {
				t.logger.Printf("following %s: %v", t.path, err)
				t.warned = true
			}
			return nil
		}
		if _, err := f.Seek(t.off, io.SeekStart); err != nil {
			f.Close()
			return fmt.Errorf("seeking %s: %w", t.path, err)
		}
		t.f = f
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := t.f.Read(buf)
		if n > 0 {
			t.partial = append(t.partial, buf[:n]...)
			t.lastGrown = time.Now()
			if err := t.deliver(w, false); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) || n == 0 {
			break
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", t.path, err)
		}
	}
	flush := final || (len(t.partial) > 0 && time.Since(t.lastGrown) >= partialFlushAfter)
	return t.deliver(w, flush)
}

// deliver writes the complete lines (all of it with flushAll) in one write,
// so lines of different files never interleave. Serial consoles end lines
// with CR LF; the task log gets plain LF.
func (t *tail) deliver(w io.Writer, flushAll bool) error {
	end := bytes.LastIndexByte(t.partial, '\n') + 1
	if flushAll || len(t.partial) > maxLine {
		end = len(t.partial)
	}
	if end == 0 {
		return nil
	}
	chunk := bytes.ReplaceAll(t.partial[:end], []byte("\r\n"), []byte("\n"))
	if chunk[len(chunk)-1] != '\n' {
		chunk = append(chunk, '\n')
	}
	t.partial = append(t.partial[:0], t.partial[end:]...)
	_, err := w.Write(chunk)
	return err
}

func (t *tail) close() {
	if t.f != nil {
		t.f.Close()
	}
}

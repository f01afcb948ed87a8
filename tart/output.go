package tart

import (
	"bytes"
	"strings"
	"sync"
)

// lineWriter hands every complete line to fn as soon as it is written
// (progress callbacks), keeping a copy of everything in out. exec.Cmd
// calls Write from a single goroutine.
type lineWriter struct {
	out     *bytes.Buffer
	fn      func(string)
	partial []byte
}

// maxLine bounds a line without newline kept in memory before it is
// delivered anyway.
const maxLine = 64 << 10

func (w *lineWriter) Write(p []byte) (int, error) {
	w.out.Write(p)
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.fn(strings.TrimRight(string(w.partial[:i]), "\r"))
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > maxLine {
		w.flush()
	}
	return len(p), nil
}

// flush delivers a trailing line without newline.
func (w *lineWriter) flush() {
	if len(w.partial) > 0 {
		w.fn(strings.TrimRight(string(w.partial), "\r"))
		w.partial = nil
	}
}

// tailBuffer keeps the first and the last bytes written, bounded, so a
// chatty child cannot grow memory without limit. Safe for concurrent
// writers.
type tailBuffer struct {
	mu    sync.Mutex
	max   int
	head  []byte
	tail  []byte
	total int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	t.total += n
	half := t.max / 2
	if room := half - len(t.head); room > 0 {
		n := min(room, len(p))
		t.head = append(t.head, p[:n]...)
		p = p[n:]
	}
	t.tail = append(t.tail, p...)
	if over := len(t.tail) - half; over > 0 {
		t.tail = append(t.tail[:0], t.tail[over:]...)
	}
	return n, nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.total > len(t.head)+len(t.tail) {
		return string(t.head) + "\n...\n" + string(t.tail)
	}
	return string(t.head) + string(t.tail)
}

package tart

import (
	"bytes"
	"strings"
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

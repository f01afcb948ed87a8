package guest

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// feedStdin copies r to w and closes w (EOF to the guest). It gives up
// writing once done is closed; a blocked Read of r can only end when r
// returns, which is the caller's reader to unblock.
func feedStdin(w io.WriteCloser, r io.Reader, done <-chan struct{}) {
	defer w.Close()
	if r == nil {
		return
	}
	buf := make([]byte, 32*1024)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			select {
			case <-done:
				return
			default:
			}
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// limitedBuffer keeps the first 4 KiB written to it (helper stderr).
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := 4096 - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) firstLines() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(b.buf.String()), "\n")
	return strings.Join(lines[:min(len(lines), 3)], "; ")
}

// copyFileLine is the guest command line storing stdin at path with mode:
// written under a private umask first so no other user can read it in between.
func copyFileLine(path string, mode os.FileMode) (string, error) {
	if path == "" || strings.ContainsRune(path, 0) {
		return "", invalid("guest path %q is not usable: give an absolute path", path)
	}
	if mode&^os.ModePerm != 0 {
		return "", invalid("mode %v: only permission bits are supported", mode)
	}
	return fmt.Sprintf("umask 077 && cat > %s && chmod %04o %s", quote(path), mode.Perm(), quote(path)), nil
}

// tailBuffer keeps the last 4 KiB written to it (to recognise tart's own
// messages at the end of stderr).
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - 4096; over > 0 {
		t.buf = t.buf[over:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

func (t *tailBuffer) lastLine() string {
	lines := strings.Split(strings.TrimSpace(t.String()), "\n")
	return lines[len(lines)-1]
}

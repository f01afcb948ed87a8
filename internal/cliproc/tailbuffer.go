package cliproc

import "sync"

// TailBuffer keeps the first and the last bytes written, bounded, so a
// chatty child cannot grow memory without limit while the start (usage,
// first error) and the end (final error) of its output survive. Safe for
// concurrent writers.
type TailBuffer struct {
	mu    sync.Mutex
	max   int
	head  []byte
	tail  []byte
	total int
}

// NewTailBuffer keeps at most max bytes: max/2 of head, max/2 of tail.
func NewTailBuffer(max int) *TailBuffer { return &TailBuffer{max: max} }

// Write never fails and always reports len(p).
func (t *TailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	t.total += n
	half := t.max / 2
	if room := half - len(t.head); room > 0 {
		k := min(room, len(p))
		t.head = append(t.head, p[:k]...)
		p = p[k:]
	}
	t.tail = append(t.tail, p...)
	if over := len(t.tail) - half; over > 0 {
		t.tail = append(t.tail[:0], t.tail[over:]...)
	}
	return n, nil
}

// String is the kept output, with "\n...\n" where bytes were dropped.
func (t *TailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.total > len(t.head)+len(t.tail) {
		return string(t.head) + "\n...\n" + string(t.tail)
	}
	return string(t.head) + string(t.tail)
}

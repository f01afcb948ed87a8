package applecontainer

import "sync"

// tailBuffer keeps the first and the last bytes written, bounded, so a
// chatty child cannot grow memory without limit. Safe for concurrent writers.
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

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.total > len(t.head)+len(t.tail) {
		return string(t.head) + "\n...\n" + string(t.tail)
	}
	return string(t.head) + string(t.tail)
}

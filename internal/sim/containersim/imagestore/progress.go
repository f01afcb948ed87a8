package imagestore

import (
	"fmt"
	"sync"
	"time"
)

// progress renders `container`'s plain progress lines, e.g.
//
//	[1/2] Fetching image 45% (3 of 7 blobs, 12.3/27.0 MB, 4.1 MB/s) [2s]
//
// at most once per second plus a final line. A nil *progress does nothing.
type progress struct {
	mu         sync.Mutex
	emit       func(string)
	step       string // "[1/2] Fetching image"
	start      time.Time
	lastLine   time.Time
	totalBlobs int
	doneBlobs  int
	totalBytes int64
	doneBytes  int64
	now        func() time.Time
}

func newProgress(emit func(string), step string) *progress {
	if emit == nil {
		return nil
	}
	return &progress{emit: emit, step: step, start: time.Now(), now: time.Now}
}

func (p *progress) plan(jobs []blobJob) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.totalBlobs = len(jobs)
	for _, j := range jobs {
		p.totalBytes += j.size
	}
}

// add counts bytes of the blob being written.
func (p *progress) add(n int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.doneBytes += n
	p.maybeEmit(false)
}

// blobDone marks a streamed blob complete (its bytes came through add).
func (p *progress) blobDone() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.doneBlobs++
	p.maybeEmit(false)
}

// done marks a small in-memory blob of size n written.
func (p *progress) done(n int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.doneBytes += n
	p.doneBlobs++
	p.maybeEmit(false)
}

// skip marks a blob already present locally.
func (p *progress) skip(n int64) { p.done(n) }

func (p *progress) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.maybeEmit(true)
}

func (p *progress) maybeEmit(final bool) {
	now := p.now()
	if !final && now.Sub(p.lastLine) < time.Second {
		return
	}
	p.lastLine = now
	elapsed := now.Sub(p.start)
	pct := 100
	if p.totalBytes > 0 {
		pct = int(p.doneBytes * 100 / p.totalBytes)
	}
	rate := float64(0)
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(p.doneBytes) / s
	}
	p.emit(fmt.Sprintf("%s %d%% (%d of %d blobs, %s, %s/s) [%ds]", p.step, pct,
		p.doneBlobs, p.totalBlobs, formatPair(p.doneBytes, p.totalBytes),
		formatSize(int64(rate)), int(elapsed.Seconds())))
}

// step prints a one-off step line such as "[2/2] Unpacking image for platform linux/amd64".
func (p *progress) line(s string) {
	if p == nil {
		return
	}
	p.emit(s)
}

// formatSize uses decimal units like Apple's ByteCountFormatter: "27.0 MB".
func formatSize(n int64) string {
	v, unit := scale(n)
	if unit == "bytes" {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

// formatPair prints done/total in the total's unit: "12.3/27.0 MB".
func formatPair(done, total int64) string {
	_, unit := scale(total)
	if unit == "bytes" {
		return fmt.Sprintf("%d/%d bytes", done, total)
	}
	div := map[string]float64{"KB": 1e3, "MB": 1e6, "GB": 1e9}[unit]
	return fmt.Sprintf("%.1f/%.1f %s", float64(done)/div, float64(total)/div, unit)
}

func scale(n int64) (float64, string) {
	switch {
	case n >= 1e9:
		return float64(n) / 1e9, "GB"
	case n >= 1e6:
		return float64(n) / 1e6, "MB"
	case n >= 1e3:
		return float64(n) / 1e3, "KB"
	default:
		return float64(n), "bytes"
	}
}

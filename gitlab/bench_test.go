package gitlab_test

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// stampWriter notes when marker texts first appear in the job log.
type stampWriter struct {
	mu    sync.Mutex
	buf   strings.Builder
	seen  map[string]time.Time
	marks []string
}

func (w *stampWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for _, m := range w.marks {
		if _, ok := w.seen[m]; !ok && strings.Contains(w.buf.String(), m) {
			w.seen[m] = time.Now()
		}
	}
	return len(p), nil
}

// BenchmarkJobOverhead measures the executor's overhead per job on the
// simulator with zero boot delays: config + prepare + every run_exec call
// + cleanup, as gitlab-runner drives them (ns/op), and the time from
// starting `tart run` to the first line of the job's script
// (ms-tartrun-to-first-line). The image is pulled once before timing.
func BenchmarkJobOverhead(b *testing.B) {
	for _, transport := range []string{"agent", "ssh"} {
		b.Run(transport, func(b *testing.B) { benchJobOverhead(b, transport) })
	}
}

func benchJobOverhead(b *testing.B, transport string) {
	h := newSimHostB(b)
	r := h.runner(h.settings(`transport = "` + transport + `"`))
	warm := newJob("true")
	if res := h.run(r, warm); res.Status != "success" {
		b.Fatalf("warm-up job: %s\n%s", res.Status, res.Log)
	}
	var toFirstLine time.Duration
	perStage := map[string]time.Duration{}
	b.ResetTimer()
	for range b.N {
		job := newJob(`echo "first-line-$((6*7))"`)
		w := &stampWriter{seen: map[string]time.Time{}, marks: []string{"Starting VM", "first-line-42"}}
		job.Log = w
		res := h.run(r, job)
		if res.Status != "success" {
			b.Fatalf("job: %s\n%s", res.Status, res.Log)
		}
		toFirstLine += w.seen["first-line-42"].Sub(w.seen["Starting VM"])
		for _, st := range res.Stages {
			name := st.Stage
			if strings.HasPrefix(name, "run:") {
				name = "run"
			}
			perStage[name] += st.Duration
		}
	}
	for name, d := range perStage {
		div := float64(b.N)
		b.ReportMetric(float64(d.Microseconds())/1000/div, "ms-"+name+"-total/op")
	}
	b.ReportMetric(float64(toFirstLine.Milliseconds())/float64(b.N), "ms-tartrun-to-first-line")
}

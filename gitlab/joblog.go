package gitlab

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// Log writes the executor's own lines to the job log, with every known
// secret masked. Lines are short: what happened, to what, how long it took.
type Log struct {
	mu      sync.Mutex
	w       io.Writer
	secrets []string
}

// NewLog writes to w (the stage's stderr: in config stdout is the JSON, and
// stderr reaches the job log in every stage but cleanup).
func NewLog(w io.Writer) *Log { return &Log{w: w} }

// Mask adds secret values to hide. Short values are ignored: masking "a"
// would garble every line.
func (l *Log) Mask(secrets ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range secrets {
		// "admin" is the documented password of Tart's public images:
		// masking it would only garble words like "runner admin".
		if len(s) >= 3 && s != "admin" {
			l.secrets = append(l.secrets, s)
		}
	}
	// Longest first, so a secret containing another is masked whole.
	sort.Slice(l.secrets, func(i, j int) bool { return len(l.secrets[i]) > len(l.secrets[j]) })
}

// Masked returns s with every secret replaced by [MASKED].
func (l *Log) Masked(s string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, sec := range l.secrets {
		s = strings.ReplaceAll(s, sec, "[MASKED]")
	}
	return s
}

// Printf writes one line.
func (l *Log) Printf(format string, a ...any) {
	line := l.Masked(fmt.Sprintf(format, a...))
	line = strings.TrimRight(line, "\n") + "\n"
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = io.WriteString(l.w, line)
}

// Warnf writes a warning line (yellow in GitLab's log viewer).
func (l *Log) Warnf(format string, a ...any) {
	l.Printf("\x1b[0;33mWARNING: "+format+"\x1b[0;m", a...)
}

// Errorf writes an error line (red).
func (l *Log) Errorf(format string, a ...any) {
	l.Printf("\x1b[31;1mERROR: "+format+"\x1b[0;m", a...)
}

// Lines returns a writer whose complete lines go to the log with prefix,
// masked; Close flushes a trailing partial line.
func (l *Log) Lines(prefix string) io.WriteCloser {
	return &lineWriter{log: l, prefix: prefix}
}

type lineWriter struct {
	log    *Log
	prefix string
	buf    []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			break
		}
		w.emit(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

func (w *lineWriter) emit(line string) {
	line = strings.TrimRight(line, "\r")
	if strings.TrimSpace(line) != "" {
		w.log.Printf("%s%s", w.prefix, line)
	}
}

func (w *lineWriter) Close() error {
	if len(w.buf) > 0 {
		w.emit(string(w.buf))
		w.buf = nil
	}
	return nil
}

// since formats a duration for the job log: 0.4s, 12.3s, 2m5s.
func since(t time.Time) string { return round(time.Since(t)) }

func round(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

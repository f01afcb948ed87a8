package warm

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tartanhq/tartan/guest"
	"github.com/tartanhq/tartan/tart"
)

// ConnectFunc waits until the guest of a running VM answers (the caller's
// normal readiness check: IP, then agent or SSH) and returns a transport.
// run is the VM's tart run: a connect should give up when it exits.
type ConnectFunc func(ctx context.Context, vm string, run *tart.RunHandle) (guest.Transport, error)

// Options configure a Manager.
type Options struct {
	Tart *tart.Client // required
	Dir  string       // required: metadata, build locks, build logs (kept across restarts)
	// Connect is the readiness check used for builds and by Start.
	Connect ConnectFunc
	// BudgetGB caps the disk the snapshots may use (0 = no cap); least
	// recently used snapshots are evicted first. A snapshot costs the
	// allocated size of its disk (tart list Size) plus its saved memory
	// (about the guest's RAM: state.vzvmsave).
	BudgetGB int
	// BootTimeout bounds a build's boot until the guest answers (default 10 min).
	BootTimeout time.Duration
	// WarmUpTimeout bounds the warm-up script (default 30 min).
	WarmUpTimeout time.Duration
	// ResumeTimeout bounds how long Start waits for a resumed guest to
	// answer before it falls back to a cold boot (default 60 s; a real
	// restore takes ~5-11 s, field-notes.md).
	ResumeTimeout time.Duration
	// MaxResumeFailures: after this many failed resumes in a row of one
	// spec, builds of it are refused with ErrDisabled (default 2).
	MaxResumeFailures int
	// ClockCommand returns the guest command that sets its clock to now
	// after a resume (default ClockCommand).
	ClockCommand func(now time.Time) guest.Command
	Logf         func(format string, args ...any) // default log.Printf
	Now          func() time.Time                 // default time.Now
}

// Manager builds, finds and retires warm snapshots. It is safe for
// concurrent use, and several processes may share one Dir and TART_HOME.
type Manager struct {
	o Options

	mu     sync.Mutex
	logged map[string]bool // "log once" keys
}

// New checks o and creates o.Dir.
func New(o Options) (*Manager, error) {
	if o.Tart == nil {
		return nil, fmt.Errorf("%w: Options.Tart is required", ErrInvalid)
	}
	if o.Dir == "" || !filepath.IsAbs(o.Dir) {
		return nil, fmt.Errorf("%w: Options.Dir %q must be an absolute directory for warm snapshot state", ErrInvalid, o.Dir)
	}
	if o.BudgetGB < 0 {
		return nil, fmt.Errorf("%w: Options.BudgetGB %d: use 0 (no cap) or a positive number of GB", ErrInvalid, o.BudgetGB)
	}
	if o.BootTimeout <= 0 {
		o.BootTimeout = 10 * time.Minute
	}
	if o.WarmUpTimeout <= 0 {
		o.WarmUpTimeout = 30 * time.Minute
	}
	if o.ResumeTimeout <= 0 {
		o.ResumeTimeout = 60 * time.Second
	}
	if o.MaxResumeFailures <= 0 {
		o.MaxResumeFailures = 2
	}
	if o.ClockCommand == nil {
		o.ClockCommand = ClockCommand
	}
	if o.Logf == nil {
		o.Logf = log.Printf
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	for _, d := range []string{o.Dir, filepath.Join(o.Dir, "snapshots"), filepath.Join(o.Dir, "locks"), filepath.Join(o.Dir, "logs")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("warm snapshot dir: %w", err)
		}
	}
	return &Manager{o: o, logged: map[string]bool{}}, nil
}

// logOnce logs a message the first time key is seen by this Manager.
func (m *Manager) logOnce(key, format string, args ...any) {
	m.mu.Lock()
	seen := m.logged[key]
	m.logged[key] = true
	m.mu.Unlock()
	if !seen {
		m.o.Logf(format, args...)
	}
}

// resolve fills s.Digest from `tart fqn` for a remote image.
func (m *Manager) resolve(ctx context.Context, s Spec) (Spec, error) {
	if s.Image == "" {
		return s, fmt.Errorf("%w: Spec.Image is empty", ErrInvalid)
	}
	if s.Digest != "" || !tart.IsRemoteName(s.Image) {
		return s, nil
	}
	fqn, err := m.o.Tart.FQN(ctx, s.Image)
	if err != nil {
		return s, fmt.Errorf("resolving the digest of %s (pull it first): %w", s.Image, err)
	}
	if _, d, ok := cutLast(fqn, "@"); ok {
		s.Digest = d
	} else {
		s.Digest = fqn
	}
	return s, nil
}

func cutLast(s, sep string) (string, string, bool) {
	for i := len(s) - len(sep); i >= 0; i-- {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

// ResumeTimeout is Options.ResumeTimeout (with its default applied).
func (m *Manager) ResumeTimeout() time.Duration { return m.o.ResumeTimeout }

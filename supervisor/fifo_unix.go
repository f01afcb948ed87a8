package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// openWriter opens a Nomad log FIFO for writing without blocking forever:
// a FIFO with no reader refuses O_NONBLOCK opens with ENXIO, so retry until
// logmon is there or ctx ends, then switch the descriptor to blocking mode.
func openWriter(ctx context.Context, path string) (*os.File, error) {
	for {
		f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			if err := unix.SetNonblock(int(f.Fd()), false); err != nil {
				f.Close()
				return nil, err
			}
			return f, nil
		}
		if !errors.Is(err, unix.ENXIO) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no reader on log FIFO %s: %w", path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// fifoWriter writes to a log FIFO and reopens it once per failed write
// (EPIPE when logmon restarted), so a logmon restart costs no output.
type fifoWriter struct {
	mu   sync.Mutex
	path string
	f    *os.File
	wait time.Duration
}

func newFIFOWriter(ctx context.Context, path string, wait time.Duration) (*fifoWriter, error) {
	cctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	f, err := openWriter(cctx, path)
	if err != nil {
		return nil, err
	}
	return &fifoWriter{path: path, f: f, wait: wait}, nil
}

func (w *fifoWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.f.Write(p)
	if err == nil {
		return n, nil
	}
	w.f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), w.wait)
	defer cancel()
	f, oerr := openWriter(ctx, w.path)
	if oerr != nil {
		return n, fmt.Errorf("log FIFO %s: %v; reopening failed: %w", w.path, err, oerr)
	}
	w.f = f
	m, err := w.f.Write(p[n:])
	return n + m, err
}

func (w *fifoWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.f.Close()
}

package foundation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/guest"
	"github.com/tartanhq/tartan/slots"
	"github.com/tartanhq/tartan/tart"
)

// fault runs the simulator's hidden `tart sim fault <vm> <kind>`.
func (w *world) fault(vm, kind string) {
	w.tb.Helper()
	cmd := exec.Command(w.client.Binary(), "sim", "fault", vm, kind)
	cmd.Env = append(os.Environ(), "TART_HOME="+w.home)
	out, err := cmd.CombinedOutput()
	must.NoError(w.tb, err, must.Sprintf("tart sim fault %s %s: %s", vm, kind, out))
}

// runUntilReady starts a long command and returns once it printed "ready";
// result delivers its outcome.
func runUntilReady(t *testing.T, tr guest.Transport, ctx context.Context, sleepArg string) <-chan error {
	t.Helper()
	out := newWatch("ready")
	result := make(chan error, 1)
	go func() {
		res, err := tr.Run(ctx, guest.Command{Script: "echo ready; exec sleep " + sleepArg, Stdout: out})
		if err == nil {
			err = errors.New("command finished: " + res.Signal)
		}
		result <- err
	}()
	select {
	case <-out.seen:
	case err := <-result:
		t.Fatalf("command ended early: %v", err)
	case <-time.After(callTimeout):
		t.Fatal("command never printed ready")
	}
	return result
}

// A transport that dies mid-command is ErrConnectionLost, never an exit
// code, and the caller learns it promptly.
func TestTransportLostMidCommand(t *testing.T) {
	cases := []struct {
		mode  guest.Mode
		fault string
	}{
		{guest.ModeSSH, "drop-ssh"},
		{guest.ModeAgent, "kill-agent"},
		{guest.ModeSSH, "die"},
		{guest.ModeAgent, "die"},
	}
	for _, c := range cases {
		t.Run(string(c.mode)+"/"+c.fault, func(t *testing.T) {
			w := newWorld(t)
			w.guestLeftoversOK = true // the transport dies before it can clean up
			w.boot(linuxImage, "vm", tart.RunOptions{NoGraphics: true})
			tr := w.connect("vm", c.mode)
			result := runUntilReady(t, tr, ctxFor(t, callTimeout), "60")
			w.fault("vm", c.fault)
			select {
			case err := <-result:
				must.ErrorIs(t, err, guest.ErrConnectionLost)
			case <-time.After(30 * time.Second):
				t.Fatalf("%s: the command did not notice %s within 30 s", c.mode, c.fault)
			}
		})
	}
}

// A VM that dies on its own ends tart run, and its slot with it.
func TestVMDeathFreesSlot(t *testing.T) {
	w := newWorld(t)
	pool, err := slots.New(filepath.Join(t.TempDir(), "slots"), map[slots.Kind]int{slots.KindMacOS: 1})
	must.NoError(t, err)
	w.clone(macImage, "vm")
	slot, err := pool.TryAcquire(slots.KindMacOS, slots.Holder{Owner: "e2e", VM: "vm"})
	must.NoError(t, err)
	h := w.mustRun("vm", tart.RunOptions{NoGraphics: true, ExtraFiles: []*os.File{slot.File()}})
	must.NoError(t, slot.Release())
	w.fault("vm", "die")
	select {
	case <-h.Done():
	case <-time.After(callTimeout):
		t.Fatal("tart run did not exit after the VM died")
	}
	next, err := pool.TryAcquire(slots.KindMacOS, slots.Holder{Owner: "next"})
	must.NoError(t, err, must.Sprint("the dead VM's slot is free at once"))
	must.NoError(t, next.Release())
}

// Cancelling a running command returns promptly and leaves nothing running
// in the guest (the world's cleanup checks for leftover processes).
func TestCancelledCommand(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			w := newWorld(t)
			w.boot(linuxImage, "vm", tart.RunOptions{NoGraphics: true})
			tr := w.connect("vm", mode)
			ctx, cancel := context.WithCancel(context.Background())
			// A duration no other test uses: guest commands are host
			// processes, so pgrep sees every simulated guest's commands.
			marker := fmt.Sprintf("60.%09d", time.Now().Nanosecond())
			result := runUntilReady(t, tr, ctx, marker)
			var out bytesWriter
			pgrep := guest.Command{Argv: []string{"pgrep", "-f", "^sleep " + marker + "$"}, Stdout: &out}
			_, err := tr.Run(ctxFor(t, callTimeout), pgrep)
			must.NoError(t, err)
			must.Positive(t, out.Len(), must.Sprint("pgrep sees the running command (so its absence later means something)"))
			cancel()
			select {
			case err := <-result:
				must.ErrorIs(t, err, context.Canceled)
			case <-time.After(30 * time.Second):
				t.Fatal("cancel did not end the command within 30 s")
			}
			eventually(t, 10*time.Second, "the cancelled guest command is killed", func() bool {
				out.Reset()
				_, err := tr.Run(ctxFor(t, callTimeout), pgrep)
				return err == nil && out.Len() == 0
			})
		})
	}
}

// A VM whose network never comes up: IP and SSH give up at their bounds
// with their own error classes.
func TestNoIP(t *testing.T) {
	w := newWorld(t, "TART_SIM_NO_IP=1")
	w.boot(linuxImage, "vm", tart.RunOptions{NoGraphics: true})
	start := time.Now()
	_, err := w.client.IP(ctxFor(t, callTimeout), "vm", tart.IPOptions{Wait: 2 * time.Second})
	must.ErrorIs(t, err, tart.ErrNoIP)
	must.Less(t, 15*time.Second, time.Since(start))

	start = time.Now()
	cfg := w.guestConfig("vm", guest.ModeSSH)
	cfg.BootWait = 3 * time.Second
	_, err = guest.Connect(ctxFor(t, callTimeout), cfg)
	must.ErrorIs(t, err, guest.ErrUnreachable)
	must.Less(t, 20*time.Second, time.Since(start))
}

// bytesWriter is a bytes.Buffer safe to share with a transport's goroutines.
type bytesWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *bytesWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *bytesWriter) Reset() { b.mu.Lock(); b.buf.Reset(); b.mu.Unlock() }

func (b *bytesWriter) Len() int { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.Len() }

package slots

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

const (
	helperEnv = "TARTAN_SLOTS_HELPER" // mode of the re-executed test binary
	dirEnv    = "TARTAN_SLOTS_DIR"
	logEnv    = "TARTAN_SLOTS_LOG"
	roundsEnv = "TARTAN_SLOTS_ROUNDS"
)

// runHelper is the child side. "hold": fd 3 is an inherited slot; say ready
// and block until killed or stdin closes. "contend": acquire a macOS slot
// (limit 2) several times, logging +pid/-pid around each hold.
func runHelper(mode string) int {
	switch mode {
	case "hold":
		fmt.Println("ready")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // EOF or a line ends the hold
		return 0
	case "acquire-hold":
		p, err := New(os.Getenv(dirEnv), nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		s, err := p.TryAcquire(KindMacOS, Holder{Owner: "other user", VM: "their-vm"})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer s.Release()
		fmt.Println("ready")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		return 0
	case "contend":
		if err := contend(); err != nil {
			fmt.Fprintln(os.Stderr, "contend:", err)
			return 1
		}
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
	return 2
}

func contend() error {
	p, err := New(os.Getenv(dirEnv), map[Kind]int{KindMacOS: 2})
	if err != nil {
		return err
	}
	log, err := os.OpenFile(os.Getenv(logEnv), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer log.Close()
	rounds, _ := strconv.Atoi(os.Getenv(roundsEnv))
	pid := os.Getpid()
	for i := range rounds {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		s, err := p.Acquire(ctx, KindMacOS, Holder{Owner: "contender", VM: fmt.Sprintf("vm-%d-%d", pid, i)})
		cancel()
		if err != nil {
			return err
		}
		// O_APPEND writes are atomic and ordered, so the log is a faithful
		// sequence: "+" after the lock is taken, "-" before it is dropped.
		fmt.Fprintf(log, "+%d\n", pid)
		burn(2 * time.Millisecond) // a short critical section: the work being limited
		fmt.Fprintf(log, "-%d\n", pid)
		if err := s.Release(); err != nil {
			return err
		}
	}
	return nil
}

// burn keeps the CPU busy for d: the helper's "work" while it holds a slot.
func burn(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
	}
}

// holderProc is a child that inherited a slot file as fd 3.
type holderProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  bool
}

// startHolder starts a child that inherits f (when non-nil) as fd 3 and
// waits until it runs. The child is killed and reaped at test cleanup.
func startHolder(t *testing.T, f *os.File) *holderProc {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=hold")
	if f != nil {
		cmd.ExtraFiles = []*os.File{f}
	}
	stdin, err := cmd.StdinPipe()
	must.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	must.NoError(t, err)
	must.NoError(t, cmd.Start())
	h := &holderProc{cmd: cmd, stdin: stdin}
	t.Cleanup(h.kill)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	must.NoError(t, err)
	must.EqOp(t, "ready\n", line)
	return h
}

// kill sends SIGKILL and reaps the child.
func (h *holderProc) kill() {
	if h.done {
		return
	}
	h.done = true
	_ = h.cmd.Process.Kill()
	_ = h.cmd.Wait()
}

// finish lets the child exit normally and reaps it; it returns the exit error.
func (h *holderProc) finish() error {
	h.done = true
	_, _ = io.WriteString(h.stdin, "done\n")
	return h.cmd.Wait()
}

// openFDs counts this process's open descriptors (Linux; -1 elsewhere).
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// checkNoFDLeak fails the test if it ends with more descriptors than it began.
func checkNoFDLeak(t *testing.T) {
	t.Helper()
	// The runtime opens its poller (epoll + eventfd) lazily on first use of
	// a pipe; start it now so it is not counted as a leak.
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	before := openFDs(t)
	t.Cleanup(func() {
		if before < 0 {
			return
		}
		if after := openFDs(t); after > before {
			t.Errorf("file descriptors leaked: %d open before, %d after: %v", before, after, fdTargets())
		}
	})
}

func newPool(t *testing.T, limits map[Kind]int) *Pool {
	t.Helper()
	p, err := New(filepath.Join(t.TempDir(), "slots"), limits)
	must.NoError(t, err)
	return p
}

// maxConcurrent replays a +pid/-pid log and returns the most holders at once.
func maxConcurrent(t *testing.T, log string) (peak, acquisitions int) {
	t.Helper()
	cur := 0
	for _, line := range strings.Fields(log) {
		switch line[0] {
		case '+':
			cur++
			acquisitions++
		case '-':
			cur--
		default:
			t.Fatalf("bad log line %q", line)
		}
		peak = max(peak, cur)
	}
	must.Zero(t, cur, must.Sprint("every hold ended"))
	return peak, acquisitions
}

func fdTargets() []string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var out []string
	for _, e := range ents {
		l, _ := os.Readlink("/proc/self/fd/" + e.Name())
		out = append(out, e.Name()+"->"+l)
	}
	return out
}

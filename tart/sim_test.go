package tart

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSimLifecycle(t *testing.T) {
	c, _ := sim(t)
	var progress []string
	if err := c.Pull(ctxT(t, time.Minute), ubuntuImage, PullOptions{Concurrency: 2, Progress: func(l string) { progress = append(progress, l) }}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(progress, "100%") {
		t.Fatalf("no progress lines: %q", progress)
	}
	fqn, err := c.FQN(ctxT(t, 10*time.Second), ubuntuImage)
	if err != nil || !strings.HasPrefix(fqn, "ghcr.io/cirruslabs/ubuntu@sha256:") {
		t.Fatalf("FQN = %q, %v", fqn, err)
	}
	mustClone(t, c, ubuntuImage, "life")
	if err := c.Set(ctxT(t, 10*time.Second), "life", SetOptions{CPU: 6, MemoryMB: 6144, RandomMAC: true, Display: "1280x800"}); err != nil {
		t.Fatal(err)
	}
	info, err := c.Get(ctxT(t, 10*time.Second), "life")
	if err != nil {
		t.Fatal(err)
	}
	if info.OS != "linux" || info.CPU != 6 || info.Memory != 6144 || info.Display != "1280x800" || info.State != StateStopped {
		t.Fatalf("after set: %+v", info)
	}

	h := mustRun(t, c, "life", RunOptions{})
	if h.PID <= 0 || !h.Alive() || h.Name != "life" {
		t.Fatalf("handle %+v", h)
	}
	if s := listState(t, c, "life"); s != StateRunning {
		t.Fatalf("list state %s", s)
	}
	ip, err := c.IP(ctxT(t, 30*time.Second), "life", IPOptions{Wait: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := netip.ParseAddr(ip); err != nil {
		t.Fatalf("IP %q: %v", ip, err)
	}
	_, err = c.Run(ctxT(t, time.Minute), "life", RunOptions{NoGraphics: true})
	if te := assertKind(t, err, ErrAlreadyRunning); te.ExitCode != 2 || te.Stderr != `VM "life" is already running!` {
		t.Fatalf("second run: %+v", te)
	}
	te := assertKind(t, c.Delete(ctxT(t, 10*time.Second), "life"), ErrVMRunning)
	if te.ExitCode != 1 {
		t.Fatalf("delete running: %+v", te)
	}
	if err := c.Stop(ctxT(t, 30*time.Second), "life", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("tart run did not exit after stop")
	}
	if h.ExitCode() != 0 || h.Alive() {
		t.Fatalf("after stop: exit %d alive %v", h.ExitCode(), h.Alive())
	}
	if !strings.Contains(h.LogTail(5), "Stopping VM...") {
		t.Fatalf("log tail %q", h.LogTail(5))
	}
	if s := stateOf(t, c, "life"); s != StateStopped {
		t.Fatalf("state after stop: %s", s)
	}
	assertKind(t, c.Stop(ctxT(t, 10*time.Second), "life", 0), ErrNotRunning)
	if err := c.Delete(ctxT(t, 10*time.Second), "life"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(ctxT(t, 10*time.Second), "life")
	if te := assertKind(t, err, ErrVMNotFound); te.ExitCode != 2 {
		t.Fatalf("get deleted: %+v", te)
	}
	if err := c.Prune(ctxT(t, 10*time.Second), PruneOptions{SpaceBudgetGB: 1000}); err != nil {
		t.Fatal(err)
	}
}

func TestSimExec(t *testing.T) {
	c, _ := sim(t)
	mustClone(t, c, ubuntuImage, "ex")
	mustRun(t, c, "ex", RunOptions{})
	ctx := ctxT(t, time.Minute)
	var out, errOut strings.Builder
	code, err := c.Exec(ctx, "ex", []string{"sh", "-c", "echo hello; echo oops >&2; exit 7"}, ExecOptions{Stdout: &out, Stderr: &errOut})
	if err != nil || code != 7 {
		t.Fatalf("Exec = %d, %v (stderr %q)", code, err, errOut.String())
	}
	if out.String() != "hello\n" || errOut.String() != "oops\n" {
		t.Fatalf("streams %q / %q", out.String(), errOut.String())
	}
	out.Reset()
	code, err = c.Exec(ctx, "ex", []string{"cat"}, ExecOptions{Interactive: true, Stdin: strings.NewReader("piped\n"), Stdout: &out})
	if err != nil || code != 0 || out.String() != "piped\n" {
		t.Fatalf("Exec -i = %d, %v, %q", code, err, out.String())
	}
}

package applecontainer

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/internal/cliproc"
	"github.com/tartanhq/tartan/internal/sim/ociimages"
	"github.com/tartanhq/tartan/internal/testenv"
)

// Helpers for the tests against container-sim (Linux simulator of the CLI).

const seedRef = "docker.io/library/busybox:latest"

var simMu sync.Mutex

// simBinary builds container-sim once. The tests skip only while the
// simulator does not exist yet, or when not root (it runs containers with
// runc in their own namespaces).
func simBinary(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(testenv.ModuleRoot(t), "cmd", "container-sim", "main.go")); err != nil {
		t.Skip("container-sim does not exist yet (cmd/container-sim/main.go missing)")
	}
	if os.Geteuid() != 0 {
		t.Skip("container-sim needs root (runc, network namespaces)")
	}
	bin := testenv.Binary(t, "container-sim")
	simMu.Lock()
	simPath = bin
	simMu.Unlock()
	return bin
}

// simClient is a client on container-sim with its own app root; the
// apiserver is not started.
func simClient(t *testing.T, env ...string) (*Client, string) {
	t.Helper()
	bin := simBinary(t)
	root := t.TempDir()
	c, err := New(Options{Binary: bin, Env: append([]string{"CONTAINER_APP_ROOT=" + root}, env...)})
	must.NoError(t, err)
	return c, root
}

// startedSim is simClient after `system start`, with busybox seeded. At the
// end every container is force-deleted and the system stopped.
func startedSim(t *testing.T, env ...string) (*Client, string) {
	t.Helper()
	c, root := simClient(t, env...)
	must.NoError(t, c.SystemStart(ctxT(t, time.Minute), SystemStartOptions{EnableKernelInstall: true}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cs, err := c.List(ctx, true)
		if err != nil {
			t.Errorf("cleanup list: %v", err)
		}
		for _, ct := range cs {
			if err := c.Delete(ctx, ct.ID, true); err != nil && !errors.Is(err, ErrNotFound) {
				t.Errorf("cleanup delete %s: %v", ct.ID, err)
			}
		}
		if err := c.SystemStop(ctx); err != nil {
			t.Errorf("cleanup system stop: %v", err)
		}
	})
	seed(t, c, seedRef)
	return c, root
}

// seed runs the simulator's hidden `container sim seed <ref>`.
func seed(t *testing.T, c *Client, ref string) {
	t.Helper()
	cmd := exec.Command(c.Binary(), "sim", "seed", ref)
	cmd.Env = c.environ()
	out, err := cmd.CombinedOutput()
	must.NoError(t, err, must.Sprintf("sim seed %s: %s", ref, out))
}

// waitState polls inspect until id is in state s.
func waitState(t *testing.T, c *Client, id string, s State) Container {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ct, err := c.Inspect(ctxT(t, 10*time.Second), id)
		if err == nil && ct.State == s {
			return ct
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not %s within 30 s: %+v %v", id, s, ct.State, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startRun starts an attached run in the background; the returned func
// waits for its exit code (bounded).
func startRun(t *testing.T, c *Client, o RunOptions) (*exec.Cmd, func() int) {
	t.Helper()
	must.NotEq(t, "", o.Name, must.Sprint("startRun needs a name to clean up"))
	cmd, err := c.RunCommand(ctxT(t, 30*time.Second), o)
	must.NoError(t, err)
	must.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
			return
		default:
		}
		// Still attached: the container must go first (killing the CLI
		// would not stop it).
		if err := c.Delete(ctxT(t, 30*time.Second), o.Name, true); err != nil && !errors.Is(err, ErrNotFound) {
			t.Errorf("cleanup delete %s: %v", o.Name, err)
		}
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Errorf("attached run of %s still alive 30 s after its delete", o.Name)
			_ = cliproc.KillProcessGroup(cmd)
			<-done
		}
	})
	return cmd, func() int {
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Fatal("attached run did not exit within 60 s")
		}
		return cmd.ProcessState.ExitCode()
	}
}

// busyboxImage is the simulator's runnable test image (host arch).
func busyboxImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := ociimages.Busybox(ociimages.BusyboxOptions{})
	must.NoError(t, err)
	return img
}

// pushImage pushes img to ref on an authRegistry (the test's own pushes
// bypass its auth).
func pushImage(t *testing.T, ref string, img v1.Image) {
	t.Helper()
	r, err := name.ParseReference(ref)
	must.NoError(t, err)
	must.NoError(t, remote.Write(r, img, remote.WithTransport(pushTestHeader{http.DefaultTransport})))
}

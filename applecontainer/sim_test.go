package applecontainer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/internal/cliproc"
)

func TestSimVersionAndSystem(t *testing.T) {
	c, root := simClient(t)
	ctx := ctxT(t, time.Minute)
	v, err := c.CheckVersion(ctx)
	must.NoError(t, err)
	must.Eq(t, "1.2.2", v.String())

	// Before `system start`: status says not running (no error), other
	// commands fail with ErrAPIServerDown.
	st, err := c.SystemStatus(ctx)
	must.NoError(t, err)
	must.False(t, st.Running)
	_, err = c.List(ctx, true)
	must.ErrorIs(t, err, ErrAPIServerDown)
	must.StrContains(t, err.Error(), "container system start")
	_, err = c.RunCommand(ctx, RunOptions{Image: seedRef}) // argv only: no error yet
	must.NoError(t, err)
	_, err = c.Create(ctx, RunOptions{Image: seedRef})
	must.ErrorIs(t, err, ErrAPIServerDown)

	must.NoError(t, c.SystemStart(ctx, SystemStartOptions{EnableKernelInstall: true}))
	t.Cleanup(func() { _ = c.SystemStop(ctxT(t, time.Minute)) })
	st, err = c.SystemStatus(ctx)
	must.NoError(t, err)
	must.True(t, st.Running)
	must.Eq(t, "1.2.2", st.APIServerVersion)
	must.StrContains(t, st.AppRoot, root)

	vs, err := c.SystemVersion(ctx)
	must.NoError(t, err)
	must.SliceNotEmpty(t, vs)
	must.Eq(t, "1.2.2", vs[0].Version)

	ns, err := c.NetworkList(ctx)
	must.NoError(t, err)
	must.SliceNotEmpty(t, ns)
	must.Eq(t, "default", ns[0].ID)
}

func TestSimRunAttached(t *testing.T) {
	c, _ := startedSim(t)
	cmd, err := c.RunCommand(ctxT(t, time.Minute), RunOptions{Name: "att1", Image: "busybox", Labels: map[string]string{"job": "a"},
		Args: []string{"sh", "-c", "echo out; echo err >&2; exit 7"}})
	must.NoError(t, err)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	must.Eq(t, 7, cmd.ProcessState.ExitCode(), must.Sprintf("%v; stderr %q", err, errb.String()))
	must.Eq(t, "out\n", out.String())
	must.Eq(t, "err\n", errb.String()) // no progress lines: --progress none

	ct, err := c.Inspect(ctxT(t, 10*time.Second), "att1")
	must.NoError(t, err)
	must.Eq(t, StateStopped, ct.State)
	must.Eq(t, seedRef, ct.Image)
	must.Eq(t, "a", ct.Labels["job"])
	must.Eq(t, []string{"-c", "echo out; echo err >&2; exit 7"}, ct.Config.Init.Args)

	// Logs hold both streams merged.
	logs := c.LogsCommand("att1", LogsOptions{})
	b, err := logs.Output()
	must.NoError(t, err)
	must.StrContains(t, string(b), "out\n")
	must.StrContains(t, string(b), "err")

	// Same name again: ErrAlreadyExists, from the CLI's exit status.
	cmd, err = c.RunCommand(ctxT(t, time.Minute), RunOptions{Name: "att1", Image: "busybox", Args: []string{"true"}})
	must.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	_ = cmd.Run()
	err = ExecFailure(cmd.Args[1:], cmd.ProcessState.ExitCode(), stderr.String())
	must.ErrorIs(t, err, ErrAlreadyExists)
	_, err = c.Create(ctxT(t, time.Minute), RunOptions{Name: "att1", Image: "busybox"})
	must.ErrorIs(t, err, ErrAlreadyExists)
}

func TestSimCreateStartAttached(t *testing.T) {
	c, _ := startedSim(t)
	ctx := ctxT(t, time.Minute)
	id, err := c.Create(ctx, RunOptions{Name: "cr1", Image: "busybox", Env: []string{"GREETING=hi"}, MemoryBytes: 256 << 20, CPUs: 2,
		Args: []string{"sh", "-c", "echo $GREETING; exit 4"}})
	must.NoError(t, err)
	must.Eq(t, "cr1", id)
	ct := waitState(t, c, id, StateStopped)
	must.Eq(t, int64(256<<20), ct.Config.MemoryBytes)
	must.Eq(t, 2, ct.Config.CPUs)
	must.SliceContains(t, ct.Config.Init.Env, "GREETING=hi")

	all, err := c.List(ctx, true)
	must.NoError(t, err)
	must.SliceLen(t, 1, all)
	running, err := c.List(ctx, false)
	must.NoError(t, err)
	must.SliceEmpty(t, running)

	cmd := c.StartAttachedCommand(id)
	var out bytes.Buffer
	cmd.Stdout = &out
	_ = cmd.Run()
	must.Eq(t, 4, cmd.ProcessState.ExitCode())
	must.Eq(t, "hi\n", out.String())
}

func TestSimLifecycleErrors(t *testing.T) {
	c, _ := startedSim(t)
	ctx := ctxT(t, 2*time.Minute)
	_, wait := startRun(t, c, RunOptions{Name: "life1", Image: "busybox", Args: []string{"sleep", "300"}})
	ct := waitState(t, c, "life1", StateRunning)
	must.SliceNotEmpty(t, ct.IPv4)
	must.False(t, ct.StartedAt.IsZero())
	running, err := c.List(ctx, false)
	must.NoError(t, err)
	must.SliceLen(t, 1, running)

	// exec: exit code through, split streams.
	var out, errb bytes.Buffer
	code, err := c.Exec(ctx, "life1", []string{"sh", "-c", "echo in; echo bad >&2; exit 5"}, ExecOptions{Env: []string{"X=1"}}, &out, &errb)
	must.NoError(t, err)
	must.Eq(t, 5, code)
	must.Eq(t, "in\n", out.String())
	must.Eq(t, "bad\n", errb.String())

	// stats of a running container.
	st, err := c.Stats(ctx, "life1")
	must.NoError(t, err)
	must.SliceLen(t, 1, st)
	must.Eq(t, "life1", st[0].ID)

	must.ErrorIs(t, c.Delete(ctx, "life1", false), ErrRunning)
	must.NoError(t, c.Stop(ctx, "life1", StopOptions{Signal: "TERM", Timeout: 2 * time.Second}))
	code = wait()
	must.NotEq(t, 0, code) // sleep dies by the signal (or SIGKILL after the timeout)
	waitState(t, c, "life1", StateStopped)
	must.NoError(t, c.Stop(ctx, "life1", StopOptions{})) // idempotent
	must.ErrorIs(t, c.Kill(ctx, "life1", "TERM"), ErrNotRunning)
	_, err = c.Exec(ctx, "life1", []string{"true"}, ExecOptions{}, nil, nil)
	must.ErrorIs(t, err, ErrNotRunning)
	stopped, err := c.Stats(ctx, "life1")
	must.NoError(t, err)
	must.SliceEmpty(t, stopped)

	must.NoError(t, c.Delete(ctx, "life1", false))
	_, err = c.Inspect(ctx, "life1")
	must.ErrorIs(t, err, ErrNotFound)
	must.ErrorIs(t, c.Delete(ctx, "life1", false), ErrNotFound)
	must.ErrorIs(t, c.Stop(ctx, "nosuch", StopOptions{}), ErrNotFound)
	must.ErrorIs(t, c.Kill(ctx, "nosuch", ""), ErrNotFound)
	_, err = c.Stats(ctx, "nosuch")
	must.ErrorIs(t, err, ErrNotFound)
	_, err = c.Exec(ctx, "nosuch", []string{"true"}, ExecOptions{}, nil, nil)
	must.ErrorIs(t, err, ErrNotFound)
}

func TestSimKillAndLogsFollow(t *testing.T) {
	c, _ := startedSim(t)
	ctx := ctxT(t, 2*time.Minute)
	_, wait := startRun(t, c, RunOptions{Name: "kl1", Image: "busybox",
		Args: []string{"sh", "-c", "trap 'echo got-term; exit 9' TERM; echo ready; while true; do sleep 0.1; done"}})
	waitState(t, c, "kl1", StateRunning)

	logs := c.LogsCommand("kl1", LogsOptions{Follow: true})
	pr, pw := io.Pipe()
	logs.Stdout = pw
	must.NoError(t, logs.Start())
	t.Cleanup(func() { _ = cliproc.KillProcessGroup(logs); _ = logs.Wait(); _ = pw.Close() })
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		buf := make([]byte, 4096)
		var acc string
		for {
			n, err := pr.Read(buf)
			acc += string(buf[:n])
			for strings.Contains(acc, "\n") {
				i := strings.Index(acc, "\n")
				lines <- acc[:i]
				acc = acc[i+1:]
			}
			if err != nil {
				return
			}
		}
	}()
	waitLine(t, lines, "ready")
	must.NoError(t, c.Kill(ctx, "kl1", "TERM"))
	waitLine(t, lines, "got-term")
	must.Eq(t, 9, wait())
}

func waitLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("log stream ended before %q", want)
			}
			if l == want {
				return
			}
		case <-timeout:
			t.Fatalf("no log line %q within 30 s", want)
		}
	}
}

func TestSimImages(t *testing.T) {
	c, _ := startedSim(t)
	ctx := ctxT(t, time.Minute)
	ok, err := c.HasImage(ctx, "busybox")
	must.NoError(t, err)
	must.True(t, ok)
	imgs, err := c.ImageList(ctx)
	must.NoError(t, err)
	refs := []string{}
	for _, im := range imgs {
		refs = append(refs, im.Reference)
	}
	must.SliceContains(t, refs, seedRef)
	_, err = c.ImageInspect(ctx, "docker.io/library/nope:1")
	must.ErrorIs(t, err, ErrImageNotFound)
	must.ErrorIs(t, err, ErrNotFound)
	ok, err = c.HasImage(ctx, "docker.io/library/nope:1")
	must.NoError(t, err)
	must.False(t, ok)
	must.NoError(t, c.ImageDelete(ctx, "busybox", false))
	ok, err = c.HasImage(ctx, "busybox")
	must.NoError(t, err)
	must.False(t, ok)
}

// TestSimPullWithCredentials: a private registry on loopback; the right
// credentials load the image (and it runs), wrong ones are ErrAuth; the
// sim's keychain file is never written and no temp file stays.
func TestSimPullWithCredentials(t *testing.T) {
	c, root := startedSim(t)
	host := authRegistry(t)
	img := busyboxImage(t)
	pushImage(t, host+"/private/bb:1", img)
	ref := host + "/private/bb:1"
	ctx := ctxT(t, 2*time.Minute)

	err := c.PullWithCredentials(ctx, ref, &Credentials{Username: testUser, Password: "not-the-password"}, PullOptions{})
	must.ErrorIs(t, err, ErrAuth)
	must.StrContains(t, err.Error(), "registry "+host+" refused the credentials")
	must.StrNotContains(t, err.Error(), "not-the-password")
	ok, err := c.HasImage(ctx, ref)
	must.NoError(t, err)
	must.False(t, ok)

	must.NoError(t, c.PullWithCredentials(ctx, ref, &Credentials{Username: testUser, Password: testPass, ServerAddress: host}, PullOptions{}))
	ok, err = c.HasImage(ctx, ref)
	must.NoError(t, err)
	must.True(t, ok)

	cmd, err := c.RunCommand(ctx, RunOptions{Name: "pulled1", Image: ref, Args: []string{"sh", "-c", "exit 3"}})
	must.NoError(t, err)
	_ = cmd.Run()
	must.Eq(t, 3, cmd.ProcessState.ExitCode())

	_, err = os.Stat(filepath.Join(root, "sim-keychain.json"))
	must.True(t, errors.Is(err, os.ErrNotExist), must.Sprint("the keychain file was written"))
	left, _ := filepath.Glob(filepath.Join(os.TempDir(), "applecontainer-pull-*"))
	must.SliceEmpty(t, left)

	// The CLI's own pull of the private image without credentials: ErrAuth.
	err = c.Pull(ctx, host+"/private/bb:1", PullOptions{})
	must.ErrorIs(t, err, ErrAuth)
}

// TestSimPre1Profile: the pre-1.0 JSON shapes parse through the same API.
func TestSimPre1Profile(t *testing.T) {
	c, _ := startedSim(t, "CONTAINER_SIM_VERSION=0.12.3")
	ctx := ctxT(t, time.Minute)
	v, err := c.Version(ctx)
	must.NoError(t, err)
	must.Eq(t, "0.12.3", v.String())
	_, err = c.CheckVersion(ctx)
	must.ErrorIs(t, err, ErrUnsupported)
	id, err := c.Create(ctx, RunOptions{Name: "old1", Image: "busybox", Args: []string{"true"}})
	must.NoError(t, err)
	ct, err := c.Inspect(ctx, id)
	must.NoError(t, err)
	must.Eq(t, "old1", ct.ID)
	must.Eq(t, StateStopped, ct.State)
	_, err = c.Inspect(ctx, "nosuch")
	must.ErrorIs(t, err, ErrNotFound)
	_, err = c.Create(ctx, RunOptions{Name: "old2", Image: "busybox", ShmSize: "64m"})
	must.ErrorIs(t, err, ErrUnsupported)
}

// TestSimCancelRunCommandCtx: a cancelled short call returns promptly.
func TestSimCancel(t *testing.T) {
	c, _ := startedSim(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.List(ctx, true)
	must.ErrorIs(t, err, context.Canceled)
}

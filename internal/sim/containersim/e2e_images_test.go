package containersim_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/tartanhq/tartan/internal/sim/ociimages"
)

func TestPullFromRegistryWithKeychainCredentials(t *testing.T) {
	t.Parallel()
	s := newSim(t)
	reg, err := ociimages.StartRegistry(ociimages.RegistryOptions{Users: map[string]string{"ci": "s3cret"}, Private: []string{"private"}})
	must.NoError(t, err)
	defer reg.Close()
	img, err := ociimages.Busybox(ociimages.BusyboxOptions{Cmd: []string{"echo", "from the registry"}, StopSignal: "SIGINT"})
	must.NoError(t, err)
	must.NoError(t, reg.Push("private/app:1", img))
	ref := reg.Ref("private/app:1")

	// Without credentials the pull fails and nothing is stored.
	r := s.run("image", "pull", "--progress", "none", ref)
	must.Eq(t, 1, r.code)
	must.Eq(t, "", r.stdout)
	must.StrContains(t, strings.ToLower(r.stderr), "unauthorized")

	// Wrong password: login is refused.
	cmd := s.command(nil, "registry", "login", "--password-stdin", "-u", "ci", reg.Host)
	cmd.Stdin = strings.NewReader("wrong\n")
	out, err := cmd.CombinedOutput()
	must.Error(t, err)
	must.StrContains(t, string(out), "Error: ")
	// Without --password-stdin and no TTY the login fails; -p-stdin needs -u.
	r = s.run("registry", "login", "-u", "ci", reg.Host)
	must.Eq(t, 1, r.code)
	r = s.run("registry", "login", "--password-stdin", reg.Host)
	must.Eq(t, 1, r.code)
	must.Eq(t, "Error: must provide --username with --password-stdin\n", r.stderr)

	cmd = s.command(nil, "registry", "login", "--password-stdin", "-u", "ci", reg.Host)
	cmd.Stdin = strings.NewReader("s3cret\n")
	b, err := cmd.CombinedOutput()
	must.NoError(t, err)
	must.Eq(t, "Login succeeded\n", string(b))
	must.StrContains(t, s.must("registry", "list"), reg.Host+"  ci")
	kc, err := os.Stat(filepath.Join(s.root, "sim-keychain.json"))
	must.NoError(t, err)
	must.Eq(t, os.FileMode(0o600), kc.Mode().Perm())

	// Pull (plain progress on non-TTY stderr, nothing on stdout), then run.
	r = s.run("image", "pull", ref)
	must.Eq(t, 0, r.code)
	must.Eq(t, "", r.stdout)
	must.StrContains(t, r.stderr, "Fetching")
	must.Eq(t, "from the registry\n", s.must("run", "--rm", ref))
	// run pulls a missing image itself (progress on stderr unless --progress none).
	must.NoError(t, reg.Push("private/other:2", img))
	r = s.run("run", "--rm", "--progress", "none", reg.Ref("private/other:2"))
	must.Eq(t, 0, r.code)
	must.Eq(t, "from the registry\n", r.stdout)
	must.Eq(t, "", r.stderr)

	// The image's STOPSIGNAL is recorded (1.x) and used by stop.
	s.must("create", "--name", "sig", ref)
	must.StrContains(t, s.must("inspect", "sig"), `"stopSignal" : "SIGINT"`)

	// image list / inspect / delete.
	list := s.must("image", "list")
	must.StrContains(t, list, "NAME")
	must.StrContains(t, list, reg.Host+"/private/app")
	var imgs []map[string]any
	must.NoError(t, json.Unmarshal([]byte(s.must("image", "list", "--format", "json")), &imgs))
	must.Len(t, 3, imgs) // busybox seed + two pulled
	must.StrHasPrefix(t, "[\n  {\n", s.must("image", "inspect", ref))
	r = s.run("image", "inspect", "nope:1")
	must.Eq(t, 1, r.code)
	must.Eq(t, "Error: image not found: nope:1\n", r.stderr)
	must.Eq(t, reg.Ref("private/other:2")+"\n", s.must("image", "delete", reg.Ref("private/other:2")))

	s.must("registry", "logout", reg.Host)
	must.Eq(t, "", s.must("registry", "list", "-q"))
}

func TestImageLoad(t *testing.T) {
	t.Parallel()
	s := newSim(t)
	img, err := ociimages.Busybox(ociimages.BusyboxOptions{Cmd: []string{"echo", "loaded"}})
	must.NoError(t, err)
	archive := filepath.Join(t.TempDir(), "img.tar")
	must.NoError(t, ociimages.WriteOCIArchive(img, "example.test/loaded:1", archive))
	out := s.must("image", "load", "-i", archive)
	must.StrContains(t, out, "example.test/loaded:1")
	must.Eq(t, "loaded\n", s.must("run", "--rm", "example.test/loaded:1"))
}

func TestLogsFollow(t *testing.T) {
	t.Parallel()
	s := newSim(t)
	s.must("run", "-d", "--name", "tick", "busybox", "sh", "-c",
		"echo first; echo; while [ ! -f /tmp/go ]; do sleep 0.02; done; echo second; echo; printf partial; sleep 1000")
	waitFor(t, "first line", 5*time.Second, func() bool { return strings.Contains(s.logs("tick"), "first") })
	type follower struct {
		cmd *exec.Cmd
		mu  sync.Mutex
		buf []byte
		got chan struct{}
	}
	text := func(f *follower) string {
		f.mu.Lock()
		defer f.mu.Unlock()
		return string(f.buf)
	}
	start := func(args ...string) *follower {
		cmd := s.command(nil, append(append([]string{"logs", "-f"}, args...), "tick")...)
		stdout, err := cmd.StdoutPipe()
		must.NoError(t, err)
		must.NoError(t, cmd.Start())
		f := &follower{cmd: cmd, got: make(chan struct{}, 100)}
		go func() {
			b := make([]byte, 256)
			for {
				n, err := stdout.Read(b)
				f.mu.Lock()
				f.buf = append(f.buf, b[:n]...)
				f.mu.Unlock()
				select {
				case f.got <- struct{}{}:
				default:
				}
				if err != nil {
					return
				}
			}
		}()
		return f
	}
	waitOut := func(f *follower, want string) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for !strings.Contains(text(f), want) {
			select {
			case <-f.got:
			case <-deadline:
				t.Fatalf("logs -f: waiting for %q, have %q", want, text(f))
			}
		}
	}
	for sig, code := range map[syscall.Signal]int{syscall.SIGINT: 130, syscall.SIGTERM: 143} {
		f := start()
		waitOut(f, "first\n")
		must.NoError(t, f.cmd.Process.Signal(sig))
		err := f.cmd.Wait()
		ee, ok := err.(*exec.ExitError)
		must.True(t, ok, must.Sprint(err))
		must.Eq(t, code, ee.ExitCode())
	}

	// -n 1 starts with the last line; new lines stream, empty lines are
	// dropped and a partial line is printed as a line.
	f := start("-n", "1")
	waitOut(f, "first\n")
	s.must("exec", "tick", "touch", "/tmp/go")
	waitOut(f, "partial\n")
	must.Eq(t, "first\nsecond\npartial\n", text(f))
	// -f never ends on its own, not even when the container stops.
	s.must("kill", "tick")
	time.Sleep(300 * time.Millisecond) // several follow polls: asserting that nothing happens
	must.Nil(t, f.cmd.ProcessState)
	must.NoError(t, f.cmd.Process.Signal(syscall.SIGTERM))
	_ = f.cmd.Wait()
	must.Eq(t, "first\n\nsecond\n\npartial\n", s.logs("tick"))
}

func TestImageDeletePrunesUnusedRootfsCache(t *testing.T) {
	t.Parallel()
	s := newSim(t)
	s.must("create", "--name", "user", "busybox")
	cache := filepath.Join(s.root, "rootfs-cache")
	count := func() int { e, _ := os.ReadDir(cache); return len(e) }
	must.Eq(t, 1, count())
	s.must("image", "delete", "busybox")
	must.Eq(t, 1, count()) // a container still uses the tree
	s.must("start", "-a", "user")
	s.must("delete", "user")
	s.must("sim", "seed", "example.test/x:1")
	s.must("image", "delete", "example.test/x:1")
	must.Eq(t, 0, count())
}

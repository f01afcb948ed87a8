package applecontainer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoenig/test"
	"github.com/shoenig/test/must"
)

// fakeCLI writes a shell script standing in for `container` (for behaviour
// the simulator cannot show: other versions' outputs, hangs). Every run
// appends its argv to <dir>/calls.
func fakeCLI(t *testing.T, version, body string) (*Client, string) {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\necho \"$*\" >> \"" + dir + "/calls\"\n" +
		"if [ \"$1\" = --version ]; then echo 'container CLI version " + version + " (build: release, commit: 3c4c59c)'; exit 0; fi\n" +
		body + "\n"
	bin := filepath.Join(dir, "container")
	must.NoError(t, os.WriteFile(bin, []byte(script), 0o755))
	c, err := New(Options{Binary: bin, Env: []string{"CONTAINER_APP_ROOT=" + dir + "/root"}})
	must.NoError(t, err)
	return c, dir
}

func calls(t *testing.T, dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, "calls"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	must.NoError(t, err)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestNewErrors(t *testing.T) {
	_, err := New(Options{Binary: "/nonexistent/container"})
	must.ErrorIs(t, err, ErrBinaryNotFound)
	must.StrContains(t, err.Error(), "/nonexistent/container")
	_, err = New(Options{Binary: t.TempDir()})
	must.ErrorIs(t, err, ErrBinaryNotFound)
	t.Setenv("PATH", t.TempDir())
	_, err = New(Options{})
	if err != nil {
		must.ErrorIs(t, err, ErrBinaryNotFound)
		must.StrContains(t, err.Error(), "$PATH")
	}
	c, _ := fakeCLI(t, "1.2.2", "")
	_, err = New(Options{Binary: c.Binary(), Env: []string{"NOEQUALS"}})
	must.ErrorIs(t, err, ErrInvalidInput)
}

func TestVersionDetectedOnceAndGates(t *testing.T) {
	c, dir := fakeCLI(t, "0.11.0", `echo "Error: should not run" >&2; exit 1`)
	ctx := ctxT(t, 30*time.Second)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := c.Version(ctx)
			test.NoError(t, err)
			test.Eq(t, "0.11.0", v.String())
		}()
	}
	wg.Wait()
	must.Eq(t, []string{"--version"}, calls(t, dir))

	err := c.Supports(ctx, FeatureCapabilities)
	var ue *UnsupportedError
	must.True(t, errors.As(err, &ue))
	must.Eq(t, "0.12.0", ue.Need.String())
	must.StrContains(t, err.Error(), "container 0.11.0 does not support run --cap-add/--cap-drop; it needs container >= 0.12.0")
	must.NoError(t, c.Supports(ctx, FeatureInit))

	_, err = c.CheckVersion(ctx)
	must.ErrorIs(t, err, ErrUnsupported)
	must.StrContains(t, err.Error(), "1.0.0")

	// Refused before the CLI runs: only the version probe is in calls.
	_, err = c.RunCommand(ctx, RunOptions{Image: "alpine", CapAdd: []string{"NET_ADMIN"}})
	must.ErrorIs(t, err, ErrUnsupported)
	_, err = c.Create(ctx, RunOptions{Image: "alpine", ShmSize: "1g"})
	must.ErrorIs(t, err, ErrUnsupported)
	must.Eq(t, []string{"--version"}, calls(t, dir))

	cmd, err := c.RunCommand(ctx, RunOptions{Image: "alpine", Init: true, Args: []string{"true"}})
	must.NoError(t, err)
	must.Eq(t, []string{c.Binary(), "run", "--init", "--progress", "none", "alpine", "true"}, cmd.Args)
	must.SliceContains(t, cmd.Env, "CONTAINER_APP_ROOT="+dir+"/root")
}

func TestSystemStatusNotRunningIsNotAnError(t *testing.T) {
	c, _ := fakeCLI(t, "1.2.2", `echo '{"status":"not running","appRoot":"","installRoot":""}'; exit 1`)
	st, err := c.SystemStatus(ctxT(t, 30*time.Second))
	must.NoError(t, err)
	must.False(t, st.Running)

	old, _ := fakeCLI(t, "0.9.0", `echo 'apiserver is not running and not registered with launchd'; exit 1`)
	st, err = old.SystemStatus(ctxT(t, 30*time.Second))
	must.NoError(t, err)
	must.False(t, st.Running)
	must.Eq(t, "not running", st.Status)

	env, dir := fakeCLI(t, "1.2.2", `printf '{"status":"running","appRoot":"%s"}' "$CONTAINER_APP_ROOT"`)
	st, err = env.SystemStatus(ctxT(t, 30*time.Second))
	must.NoError(t, err)
	must.True(t, st.Running)
	must.Eq(t, dir+"/root", st.AppRoot)
}

func TestInspectPre1EmptyIsNotFound(t *testing.T) {
	c, _ := fakeCLI(t, "0.12.3", `echo '[]'`)
	_, err := c.Inspect(ctxT(t, 30*time.Second), "gone")
	must.ErrorIs(t, err, ErrNotFound)
}

func TestListPre010FiltersRunning(t *testing.T) {
	c, _ := fakeCLI(t, "0.9.0", `cat <<'EOF'
[{"status":"running","configuration":{"id":"up"}},{"status":"stopped","configuration":{"id":"down"}}]
EOF`)
	cs, err := c.List(ctxT(t, 30*time.Second), false)
	must.NoError(t, err)
	must.SliceLen(t, 1, cs)
	must.Eq(t, "up", cs[0].ID)
	all, err := c.List(ctxT(t, 30*time.Second), true)
	must.NoError(t, err)
	must.SliceLen(t, 2, all)
}

func TestExecExitCodeVersusCLIFailure(t *testing.T) {
	c, _ := fakeCLI(t, "1.2.2", `case "$2" in
good) echo out; echo err >&2; exit 3;;
stopped) echo "Error: container stopped is not running" >&2; exit 1;;
prog) echo "Error: config not found" >&2; exit 1;;
esac`)
	ctx := ctxT(t, 30*time.Second)
	var out, errb bytes.Buffer
	code, err := c.Exec(ctx, "good", []string{"sh"}, ExecOptions{}, &out, &errb)
	must.NoError(t, err)
	must.Eq(t, 3, code)
	must.Eq(t, "out\n", out.String())
	must.Eq(t, "err\n", errb.String())

	_, err = c.Exec(ctx, "stopped", []string{"sh"}, ExecOptions{}, nil, nil)
	must.ErrorIs(t, err, ErrNotRunning)
	var e *Error
	must.True(t, errors.As(err, &e))
	must.Eq(t, 1, e.ExitCode)
	must.Eq(t, "container stopped is not running", e.Stderr)

	code, err = c.Exec(ctx, "prog", []string{"sh"}, ExecOptions{}, nil, nil)
	must.NoError(t, err)
	must.Eq(t, 1, code)
}

func TestAPIServerDownMessage(t *testing.T) {
	c, _ := fakeCLI(t, "1.2.2", `echo 'Error: internalError: "failed to list containers" (cause: "interrupted: "XPC connection error: Connection invalid"")' >&2
echo 'Ensure container system service has been started with `+"`container system start`"+`.' >&2; exit 1`)
	_, err := c.List(ctxT(t, 30*time.Second), true)
	must.ErrorIs(t, err, ErrAPIServerDown)
	must.StrContains(t, err.Error(), "run `container system start`")
}

// TestPullWithCredentialsKeepsSecretsOffTheCLI: the CLI children of a
// keychain-free pull (image load, image inspect) never see the password in
// argv or environment, the archive they get is a valid OCI layout, and the
// temp file is gone afterwards.
func TestPullWithCredentialsKeepsSecretsOffTheCLI(t *testing.T) {
	host := authRegistry(t)
	ref := host + "/private/app:1"
	pushIndex(t, ref)
	c, dir := fakeCLI(t, "1.2.2", `env >> "$(dirname "$0")/env"
case "$1 $2" in
"image load") cp "$4" "$(dirname "$0")/loaded.tar"; test -f "$(dirname "$0")/fail-load" && { echo "Error: load failed" >&2; exit 1; }; exit 0;;
"image inspect") echo '[{"id":"ab","configuration":{"name":"'"$3"'"}}]';;
esac`)
	ctx := ctxT(t, time.Minute)
	must.NoError(t, c.PullWithCredentials(ctx, ref, &Credentials{Username: testUser, Password: testPass}, PullOptions{}))
	got := strings.Join(calls(t, dir), "\n")
	must.StrContains(t, got, "image load --input ")
	must.StrContains(t, got, "image inspect "+ref)
	must.StrNotContains(t, got, testPass)
	env, err := os.ReadFile(filepath.Join(dir, "env"))
	must.NoError(t, err)
	must.StrNotContains(t, string(env), testPass)
	must.StrNotContains(t, string(env), testUser)
	layoutDir := readArchive(t, filepath.Join(dir, "loaded.tar"))
	must.FileExists(t, filepath.Join(layoutDir, "index.json"))
	left, _ := filepath.Glob(filepath.Join(os.TempDir(), "applecontainer-pull-*"))
	must.SliceEmpty(t, left)

	// A failing load leaves no temp file either.
	must.NoError(t, os.WriteFile(filepath.Join(dir, "fail-load"), nil, 0o644))
	err = c.PullWithCredentials(ctx, ref, &Credentials{Username: testUser, Password: testPass}, PullOptions{})
	must.ErrorIs(t, err, ErrFailed)
	must.StrContains(t, err.Error(), "load failed")
	left, _ = filepath.Glob(filepath.Join(os.TempDir(), "applecontainer-pull-*"))
	must.SliceEmpty(t, left)
}

package tart

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Each error class produced by the simulator and recognised by the client.

func TestSimUnknownVM(t *testing.T) {
	c, _ := sim(t)
	ctx := ctxT(t, 30*time.Second)
	_, err := c.Get(ctx, "ghost")
	assertKind(t, err, ErrVMNotFound)
	_, err = c.Run(ctx, "ghost", RunOptions{NoGraphics: true})
	if te := assertKind(t, err, ErrVMNotFound); te.ExitCode != 1 || !strings.Contains(te.Stderr, `"ghost" does not exist`) {
		t.Fatalf("run ghost: %+v", te)
	}
	if logs, _ := filepath.Glob(filepath.Join(os.TempDir(), "tart-run-*.log")); len(logs) != 0 {
		t.Fatalf("failed Run left its temp log behind: %v", logs)
	}
	assertKind(t, c.Delete(ctx, "ghost"), ErrVMNotFound)
	assertKind(t, c.Stop(ctx, "ghost", 0), ErrVMNotFound)
	assertKind(t, c.Set(ctx, "ghost", SetOptions{CPU: 2}), ErrVMNotFound)
	_, err = c.Exec(ctx, "ghost", []string{"true"}, ExecOptions{})
	assertKind(t, err, ErrVMNotFound)
}

func TestSimNotRunning(t *testing.T) {
	c, _ := sim(t)
	mustClone(t, c, ubuntuImage, "idle")
	ctx := ctxT(t, 30*time.Second)
	assertKind(t, c.Stop(ctx, "idle", 0), ErrNotRunning)
	assertKind(t, c.Suspend(ctx, "idle"), ErrNotRunning)
	_, err := c.Exec(ctx, "idle", []string{"true"}, ExecOptions{})
	assertKind(t, err, ErrNotRunning)
}

func TestSimVMLimitForThirdMacOSVM(t *testing.T) {
	c, _ := sim(t)
	mustClone(t, c, macosImage, "mac-1")
	mustClone(t, c, "mac-1", "mac-2")
	mustClone(t, c, "mac-1", "mac-3")
	mustRun(t, c, "mac-1", RunOptions{})
	mustRun(t, c, "mac-2", RunOptions{})
	_, err := c.Run(ctxT(t, time.Minute), "mac-3", RunOptions{NoGraphics: true})
	te := assertKind(t, err, ErrVMLimit)
	if !strings.Contains(te.Stderr, "exceeds the system limit") || !strings.Contains(te.Stderr, "mac-1") {
		t.Fatalf("limit error: %+v", te)
	}
	if s := stateOf(t, c, "mac-3"); s != StateStopped {
		t.Fatalf("mac-3 state %s after refused start", s)
	}
}

func TestSimNoIP(t *testing.T) {
	c, _ := sim(t, "TART_SIM_NO_IP=1")
	mustClone(t, c, ubuntuImage, "noip")
	mustRun(t, c, "noip", RunOptions{})
	_, err := c.IP(ctxT(t, 30*time.Second), "noip", IPOptions{Wait: time.Second})
	te := assertKind(t, err, ErrNoIP)
	if !strings.HasPrefix(te.Stderr, "no IP address found") || te.ExitCode != 1 {
		t.Fatalf("%+v", te)
	}

	// A ctx deadline shorter than --wait: ErrTimeout, promptly.
	start := time.Now()
	_, err = c.IP(ctxT(t, 500*time.Millisecond), "noip", IPOptions{Wait: 60 * time.Second})
	assertKind(t, err, ErrTimeout)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout does not carry DeadlineExceeded: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("timed-out call returned after %s", d)
	}
}

func TestSimRegistryAuth(t *testing.T) {
	c, _ := sim(t, "TART_SIM_CATALOG="+writeCatalog(t))
	const img = "registry.example.com/team/private:1"
	err := c.Pull(ctxT(t, time.Minute), img, PullOptions{})
	assertKind(t, err, ErrAuth)
	err = c.Pull(ctxT(t, time.Minute), img, PullOptions{Credentials: &Credentials{Username: "robot", Password: "wrong"}})
	te := assertKind(t, err, ErrAuth)
	if strings.Contains(te.Error(), "wrong") {
		t.Fatalf("password in error: %v", te)
	}
	// Credentials for another host are not applied by tart.
	err = c.Pull(ctxT(t, time.Minute), img, PullOptions{Credentials: &Credentials{Username: "robot", Password: "s3cret-pw", Hostname: "ghcr.io"}})
	assertKind(t, err, ErrAuth)
	if err := c.Pull(ctxT(t, time.Minute), img, PullOptions{Credentials: &Credentials{Username: "robot", Password: "s3cret-pw", Hostname: "registry.example.com"}}); err != nil {
		t.Fatalf("pull with credentials: %v", err)
	}
	// Clone of a private image also takes per-call credentials.
	err = c.Clone(ctxT(t, time.Minute), "registry.example.com/team/private:1", "priv", CloneOptions{})
	if err != nil {
		t.Fatalf("clone of a cached image needs no credentials: %v", err)
	}
}

func TestSimDiskFull(t *testing.T) {
	c, _ := sim(t, "TART_SIM_DISK_FULL=1")
	err := c.Clone(ctxT(t, time.Minute), ubuntuImage, "full", CloneOptions{})
	te := assertKind(t, err, ErrDiskFull)
	if te.Stderr == "" {
		t.Fatalf("no stderr line: %+v", te)
	}
}

func TestSimUnsupportedExec(t *testing.T) {
	c, _ := sim(t, "TART_SIM_VERSION=2.26.0")
	v, err := c.Version(ctxT(t, 10*time.Second))
	if err != nil || v.String() != "2.26.0" {
		t.Fatalf("version %v %v", v, err)
	}
	_, err = c.Exec(ctxT(t, 10*time.Second), "any", []string{"true"}, ExecOptions{})
	var ue *UnsupportedError
	if !errors.As(err, &ue) || !errors.Is(err, ErrUnsupported) || ue.Need.String() != "2.27.0" {
		t.Fatalf("exec on 2.26.0: %v", err)
	}
	if err := c.Supports(ctxT(t, time.Second), FeatureResolverAgent); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("agent resolver on 2.26.0: %v", err)
	}
}

func TestSimUsageErrors(t *testing.T) {
	c, _ := sim(t)
	// A bad flag value that only tart can judge: classified from exit 64.
	_, err := c.run(ctxT(t, 10*time.Second), call{args: []string{"list", "--format", "yaml"}})
	te := assertKind(t, err, ErrUsage)
	if te.ExitCode != 64 || !strings.HasPrefix(te.Stderr, "Error: ") || strings.HasPrefix(te.Stderr, "Usage") {
		t.Fatalf("%+v", te)
	}
	_, err = c.run(ctxT(t, 10*time.Second), call{args: []string{"ip", "vm", "--resolver", "mdns"}})
	assertKind(t, err, ErrUsage)

	// Bad input the client catches before tart runs.
	for name, err := range map[string]error{
		"malformed image": c.Pull(ctxT(t, time.Second), "not a/valid:image", PullOptions{}),
		"local pull":      c.Pull(ctxT(t, time.Second), "debian:latest", PullOptions{}),
		"bad display":     c.Set(ctxT(t, time.Second), "vm", SetOptions{Display: "huge"}),
		"bad resolver":    func() error { _, err := c.IP(ctxT(t, time.Second), "vm", IPOptions{Resolver: "mdns"}); return err }(),
		"bad net": func() error {
			_, err := c.Run(ctxT(t, time.Second), "vm", RunOptions{Net: Network{Mode: NetHost, Bridged: []string{"en0"}}})
			return err
		}(),
	} {
		var ue *UsageError
		if !errors.Is(err, ErrUsage) || !errors.As(err, &ue) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSimBinaryNotFound(t *testing.T) {
	_, err := New(Options{Binary: filepath.Join(t.TempDir(), "tart")})
	if !errors.Is(err, ErrBinaryNotFound) {
		t.Fatalf("got %v", err)
	}
}

func TestSimExecAgentUnavailable(t *testing.T) {
	c, _ := sim(t, "TART_SIM_NO_AGENT=1")
	mustClone(t, c, ubuntuImage, "noagent")
	mustRun(t, c, "noagent", RunOptions{})
	_, err := c.Exec(ctxT(t, time.Minute), "noagent", []string{"true"}, ExecOptions{})
	assertKind(t, err, ErrAgentUnavailable)
}

func TestSimPullFailure(t *testing.T) {
	c, _ := sim(t, "TART_SIM_PULL_FAIL=1")
	var lines []string
	err := c.Pull(ctxT(t, time.Minute), ubuntuImage, PullOptions{Progress: func(l string) { lines = append(lines, l) }})
	te := assertKind(t, err, ErrFailed)
	if te.ExitCode != 1 || !strings.Contains(te.Stderr, "network connection was lost") {
		t.Fatalf("%+v", te)
	}
	retries := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "Error pulling image:") {
			retries++
		}
	}
	if retries == 0 {
		t.Fatalf("retry lines not delivered: %q", lines)
	}
}

func TestSimPrivateCloneCredentials(t *testing.T) {
	catalog := "TART_SIM_CATALOG=" + writeCatalog(t)
	c, _ := sim(t, catalog)
	const img = "registry.example.com/team/private:1"
	assertKind(t, c.Clone(ctxT(t, time.Minute), img, "priv", CloneOptions{}), ErrAuth)
	if err := c.Clone(ctxT(t, time.Minute), img, "priv", CloneOptions{Credentials: &Credentials{Username: "robot", Password: "s3cret-pw"}}); err != nil {
		t.Fatalf("clone with credentials: %v", err)
	}
	if s := stateOf(t, c, "priv"); s != StateStopped {
		t.Fatalf("cloned VM state %s", s)
	}
}

func TestSimSnapshotVersionIsNewest(t *testing.T) {
	c, _ := sim(t, "TART_SIM_VERSION=SNAPSHOT")
	for _, f := range []Feature{FeatureExec, FeatureSoftnetBlock, FeatureResolverAgent} {
		if err := c.Supports(ctxT(t, 10*time.Second), f); err != nil {
			t.Fatalf("%s on SNAPSHOT: %v", f, err)
		}
	}
}

// Guest-OS specific run options are judged by tart (the client cannot
// know the guest OS from argv alone); the errors stay classified.
func TestSimRunOptionsWrongForGuestOS(t *testing.T) {
	c, _ := sim(t)
	mustClone(t, c, ubuntuImage, "lin")
	mustClone(t, c, macosImage, "mac")
	_, err := c.Run(ctxT(t, time.Minute), "lin", RunOptions{NoGraphics: true, Suspendable: true})
	if te := assertKind(t, err, ErrUsage); te.ExitCode != 64 || te.Stderr != "Error: You can only suspend macOS VMs" {
		t.Fatalf("%+v", te)
	}
	_, err = c.Run(ctxT(t, time.Minute), "mac", RunOptions{NoGraphics: true, Nested: true})
	if te := assertKind(t, err, ErrUsage); te.ExitCode != 1 || !strings.Contains(te.Stderr, "do not support nested") {
		t.Fatalf("%+v", te)
	}
}

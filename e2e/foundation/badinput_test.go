package foundation

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/guest"
	"github.com/tartanhq/tartan/slots"
	"github.com/tartanhq/tartan/tart"
)

// quick bounds a call that must fail fast with a clear error: no hang, no
// retry loop until some far deadline.
const quick = 20 * time.Second

// fails runs f with a bounded context and checks it fails promptly.
func fails(t *testing.T, what string, f func(ctx context.Context) error) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), quick)
	defer cancel()
	start := time.Now()
	err := f(ctx)
	must.Error(t, err, must.Sprintf("%s must fail", what))
	must.Less(t, quick/2, time.Since(start), must.Sprintf("%s must fail fast, not wait for a deadline", what))
	must.False(t, errors.Is(err, context.DeadlineExceeded), must.Sprintf("%s: %v", what, err))
	t.Logf("%s: %v", what, err)
	return err
}

func TestUnknownVM(t *testing.T) {
	w := newWorld(t)
	c := w.client
	for name, f := range map[string]func(ctx context.Context) error{
		"run":  func(ctx context.Context) error { _, err := c.Run(ctx, "no-such-vm", tart.RunOptions{}); return err },
		"ip":   func(ctx context.Context) error { _, err := c.IP(ctx, "no-such-vm", tart.IPOptions{}); return err },
		"get":  func(ctx context.Context) error { _, err := c.Get(ctx, "no-such-vm"); return err },
		"stop": func(ctx context.Context) error { return c.Stop(ctx, "no-such-vm", time.Second) },
		"set":  func(ctx context.Context) error { return c.Set(ctx, "no-such-vm", tart.SetOptions{CPU: 2}) },
	} {
		t.Run(name, func(t *testing.T) {
			err := fails(t, name, f)
			must.ErrorIs(t, err, tart.ErrVMNotFound)
			must.StrContains(t, err.Error(), "no-such-vm")
		})
	}
	t.Run("exec", func(t *testing.T) {
		fails(t, "exec", func(ctx context.Context) error {
			_, err := c.Exec(ctx, "no-such-vm", []string{"true"}, tart.ExecOptions{})
			return err
		})
	})
	t.Run("connect agent", func(t *testing.T) {
		err := fails(t, "connect", func(ctx context.Context) error {
			_, err := guest.Connect(ctx, guest.Config{Mode: guest.ModeAgent, Tart: c, VM: "no-such-vm", BootWait: quick / 4})
			return err
		})
		must.StrContains(t, err.Error(), "no-such-vm")
	})
}

// A VM that exists but is stopped: commands fail with ErrNotRunning, not a hang.
func TestStoppedVM(t *testing.T) {
	w := newWorld(t)
	w.clone(linuxImage, "idle")
	err := fails(t, "exec in a stopped VM", func(ctx context.Context) error {
		_, err := w.client.Exec(ctx, "idle", []string{"true"}, tart.ExecOptions{})
		return err
	})
	must.ErrorIs(t, err, tart.ErrNotRunning)
	err = fails(t, "stop a stopped VM", func(ctx context.Context) error { return w.client.Stop(ctx, "idle", time.Second) })
	must.ErrorIs(t, err, tart.ErrNotRunning)
}

func TestMalformedImageNames(t *testing.T) {
	w := newWorld(t)
	for _, image := range []string{"", "not an image", "ghcr.io/cirruslabs/macos:bad tag", "-rf"} {
		t.Run(image, func(t *testing.T) {
			err := fails(t, "pull "+image, func(ctx context.Context) error { return w.client.Pull(ctx, image, tart.PullOptions{}) })
			must.ErrorIs(t, err, tart.ErrUsage)
		})
	}
	t.Run("well-formed but unknown", func(t *testing.T) {
		err := fails(t, "clone unknown", func(ctx context.Context) error {
			return w.client.Clone(ctx, "ghcr.io/cirruslabs/no-such-image:latest", "x", tart.CloneOptions{})
		})
		var te *tart.Error
		must.True(t, errors.As(err, &te), must.Sprintf("a tart failure, got %T", err))
		must.StrContains(t, err.Error(), "no-such-image")
	})
}

func TestBadFlagValues(t *testing.T) {
	w := newWorld(t)
	w.clone(linuxImage, "vm")
	c := w.client
	cases := map[string]func(ctx context.Context) error{
		"negative cpu":    func(ctx context.Context) error { return c.Set(ctx, "vm", tart.SetOptions{CPU: -1}) },
		"display garbage": func(ctx context.Context) error { return c.Set(ctx, "vm", tart.SetOptions{Display: "huge"}) },
		"resolver": func(ctx context.Context) error {
			_, err := c.IP(ctx, "vm", tart.IPOptions{Resolver: "dns"})
			return err
		},
		"net mode":           runWith(c, tart.RunOptions{Net: tart.Network{Mode: "wormhole"}}),
		"softnet expose":     runWith(c, tart.RunOptions{Net: tart.Network{SoftnetExpose: []string{"not-a-port"}}}),
		"share without path": runWith(c, tart.RunOptions{Dirs: []tart.Share{{Name: "x"}}}),
		"disk sync":          runWith(c, tart.RunOptions{Disks: []tart.Disk{{Path: "/tmp/d.img", Sync: "sometimes"}}}),
		"prune nothing":      func(ctx context.Context) error { return c.Prune(ctx, tart.PruneOptions{}) },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			err := fails(t, name, f)
			must.ErrorIs(t, err, tart.ErrUsage)
		})
	}
	t.Run("guest mode", func(t *testing.T) {
		_, err := guest.ParseMode("telnet")
		must.ErrorIs(t, err, guest.ErrInvalidInput)
	})
	t.Run("slot limit", func(t *testing.T) {
		_, err := slots.New(t.TempDir(), map[slots.Kind]int{slots.KindMacOS: -2})
		must.ErrorIs(t, err, slots.ErrBadLimit)
	})
	// Values only tart itself can judge: its error comes back whole and
	// classified, the VM does not start.
	t.Run("disk shrink", func(t *testing.T) {
		err := fails(t, "shrink disk", func(ctx context.Context) error { return c.Set(ctx, "vm", tart.SetOptions{DiskSizeGB: 1}) })
		var te *tart.Error
		must.True(t, errors.As(err, &te), must.Sprintf("a tart failure, got %T", err))
		must.StrContains(t, te.Stderr, "should be larger than the current disk size")
	})
	t.Run("share of a missing directory", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "missing")
		err := fails(t, "run with missing share", runWith(c, tart.RunOptions{NoGraphics: true, Dirs: []tart.Share{{Name: "m", Path: missing}}}))
		var te *tart.Error
		must.True(t, errors.As(err, &te), must.Sprintf("a tart failure, got %T", err))
		must.StrContains(t, te.Stderr, "no such file")
	})
	// Nothing above may have started the VM.
	must.EqOp(t, tart.StateStopped, w.vmState("vm"))
}

func runWith(c *tart.Client, o tart.RunOptions) func(ctx context.Context) error {
	return func(ctx context.Context) error { _, err := c.Run(ctx, "vm", o); return err }
}

func TestWrongSSHCredentials(t *testing.T) {
	w := newWorld(t)
	w.boot(linuxImage, "vm", tart.RunOptions{NoGraphics: true})
	const secret = "definitely-wrong-pw"
	err := fails(t, "ssh with a wrong password", func(ctx context.Context) error {
		cfg := w.guestConfig("vm", guest.ModeSSH)
		cfg.SSH.Password = secret
		cfg.BootWait = quick
		_, err := guest.Connect(ctx, cfg)
		return err
	})
	must.ErrorIs(t, err, guest.ErrAuth)
	must.StrNotContains(t, err.Error(), secret)
}

func TestWrongRegistryCredentials(t *testing.T) {
	catalog := filepath.Join(t.TempDir(), "catalog.json")
	must.NoError(t, os.WriteFile(catalog, []byte(`[{"name":"registry.example.com/team/private:1","os":"linux",
		"credentials":{"username":"ci","password":"right-pw"}}]`), 0o644))
	w := newWorld(t, "TART_SIM_CATALOG="+catalog)
	const secret = "wrong-pw-123"
	err := fails(t, "clone with wrong credentials", func(ctx context.Context) error {
		return w.client.Clone(ctx, "registry.example.com/team/private:1", "p", tart.CloneOptions{
			Credentials: &tart.Credentials{Username: "ci", Password: secret},
		})
	})
	must.ErrorIs(t, err, tart.ErrAuth)
	must.StrNotContains(t, err.Error(), secret)
	// The right ones work, proving the failure was about the credentials.
	must.NoError(t, w.client.Clone(ctxFor(t, callTimeout), "registry.example.com/team/private:1", "p", tart.CloneOptions{
		Credentials: &tart.Credentials{Username: "ci", Password: "right-pw"},
	}))
}

func TestMissingTartBinary(t *testing.T) {
	_, err := tart.New(tart.Options{Binary: filepath.Join(t.TempDir(), "tart")})
	must.ErrorIs(t, err, tart.ErrBinaryNotFound)
	must.StrContains(t, err.Error(), "tart")

	t.Setenv("PATH", t.TempDir())
	_, err = tart.New(tart.Options{})
	if _, statErr := os.Stat("/opt/homebrew/bin/tart"); statErr == nil {
		t.Skip("a real tart is installed in a fallback location")
	}
	must.ErrorIs(t, err, tart.ErrBinaryNotFound)
	for _, where := range []string{"$PATH", "/opt/homebrew/bin/tart"} {
		must.True(t, strings.Contains(err.Error(), where), must.Sprintf("the error says where it looked: %v", err))
	}
}

// tart uninstalled (or moved by a Homebrew upgrade) while the client lives:
// calls fail with ErrBinaryNotFound, not a generic exec error.
func TestTartBinaryRemovedAfterNew(t *testing.T) {
	w := newWorld(t)
	bin := filepath.Join(t.TempDir(), "tart")
	src, err := os.ReadFile(w.client.Binary())
	must.NoError(t, err)
	must.NoError(t, os.WriteFile(bin, src, 0o755))
	c, err := tart.New(tart.Options{Binary: bin, Home: w.home})
	must.NoError(t, err)
	must.NoError(t, os.Remove(bin))
	err = fails(t, "list without a binary", func(ctx context.Context) error {
		_, err := c.List(ctx, tart.ListOptions{})
		return err
	})
	must.ErrorIs(t, err, tart.ErrBinaryNotFound)
	err = fails(t, "run without a binary", func(ctx context.Context) error {
		_, err := c.Run(ctx, "vm", tart.RunOptions{})
		return err
	})
	must.ErrorIs(t, err, tart.ErrBinaryNotFound)
}

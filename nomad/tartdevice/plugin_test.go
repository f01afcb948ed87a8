package tartdevice

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/nomad/helper/testlog"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/device"
	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/internal/testenv"
	"github.com/tartanhq/tartan/slots"
	"github.com/tartanhq/tartan/tart"
)

func configured(t *testing.T, c Config) *Plugin {
	t.Helper()
	p := New(testlog.HCLogger(t))
	// Nomad applies the schema's defaults before encoding.
	if c.MacOSSlots == 0 {
		c.MacOSSlots = slots.DefaultMacOSLimit
	}
	if c.PollInterval == "" {
		c.PollInterval = defaultPollInterval
	}
	var raw []byte
	must.NoError(t, base.MsgPackEncode(&raw, &c))
	must.NoError(t, p.SetConfig(&base.Config{PluginConfig: raw}))
	return p
}

// next returns the next fingerprint within a second (the promised delay).
func next(t *testing.T, ch <-chan *device.FingerprintResponse) *device.DeviceGroup {
	t.Helper()
	select {
	case r := <-ch:
		must.NotNil(t, r)
		must.NoError(t, r.Error)
		must.Len(t, 1, r.Devices)
		return r.Devices[0]
	case <-time.After(time.Second):
		t.Fatal("no fingerprint within 1 s")
		return nil
	}
}

func health(g *device.DeviceGroup) map[string]bool {
	out := map[string]bool{}
	for _, d := range g.Devices {
		out[d.ID] = d.Healthy
	}
	return out
}

// TestFingerprint_SlotsAsInstancesHealthFollowsOutsideHolders: two
// instances tartan/vm/macos-slot; a slot a GitLab job holds turns
// unhealthy within a second and healthy again when released; a slot a
// Nomad task holds stays healthy (Nomad already counts it).
func TestFingerprint_SlotsAsInstancesHealthFollowsOutsideHolders(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "slots")
	p := configured(t, Config{SlotsDir: dir, MacOSSlots: 2, PollInterval: "100ms"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := p.Fingerprint(ctx)
	must.NoError(t, err)
	g := next(t, ch)
	must.Eq(t, Vendor+"/"+DeviceType+"/"+DeviceName, g.Vendor+"/"+g.Type+"/"+g.Name)
	must.Eq(t, map[string]bool{"macos-slot-1": true, "macos-slot-2": true}, health(g))

	pool, err := slots.New(dir, nil)
	must.NoError(t, err)
	gitlab, err := pool.TryAcquire(slots.KindMacOS, slots.Holder{Owner: "gitlab job 42", VM: "gl-vm"})
	must.NoError(t, err)
	g = next(t, ch)
	must.Eq(t, map[string]bool{"macos-slot-1": false, "macos-slot-2": true}, health(g))
	must.StrContains(t, g.Devices[0].HealthDesc, `held outside Nomad: slot 1 held by "gitlab job 42"`)

	nomad, err := pool.TryAcquireNumber(slots.KindMacOS, 2, slots.Holder{Owner: HolderOwner("j", "t", "a1"), VM: "nomad-vm"})
	must.NoError(t, err)
	// A Nomad holder changes no health: nothing new is sent (only changes are).

	must.NoError(t, gitlab.Release())
	must.NoError(t, nomad.Release())
	g = next(t, ch)
	must.Eq(t, map[string]bool{"macos-slot-1": true, "macos-slot-2": true}, health(g))
}

// TestFingerprint_HoldsTheMarkAndRefusesASecondPlugin: the driver sees
// the mark while the plugin runs; a second plugin on the same slots gets
// an error instead of double-booking them; the mark goes with the stream.
func TestFingerprint_HoldsTheMarkAndRefusesASecondPlugin(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "slots")
	pool, err := slots.New(dir, nil)
	must.NoError(t, err)
	p := configured(t, Config{SlotsDir: dir})
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := p.Fingerprint(ctx)
	must.NoError(t, err)
	next(t, ch)
	marked, err := pool.Marked(MarkName)
	must.NoError(t, err)
	must.True(t, marked)

	second := configured(t, Config{SlotsDir: dir})
	ch2, err := second.Fingerprint(context.Background())
	must.NoError(t, err)
	r := <-ch2
	must.ErrorContains(t, r.Error, "give each Nomad client its own slots_dir")

	cancel()
	for range ch {
	}
	deadline := time.Now().Add(5 * time.Second)
	for marked && time.Now().Before(deadline) {
		marked, _ = pool.Marked(MarkName)
		time.Sleep(10 * time.Millisecond)
	}
	must.False(t, marked, must.Sprint("the mark outlived the fingerprint stream"))
}

func TestReserve_HandsTheSlotNumberToTheTask(t *testing.T) {
	p := configured(t, Config{SlotsDir: filepath.Join(t.TempDir(), "slots")})
	r, err := p.Reserve([]string{"macos-slot-2"})
	must.NoError(t, err)
	must.Eq(t, map[string]string{EnvSlot: "2"}, r.Envs)
	n, ok, err := ReservedSlot(r.Envs)
	must.NoError(t, err)
	must.True(t, ok)
	must.Eq(t, 2, n)
	_, err = p.Reserve([]string{"macos-slot-3"})
	must.ErrorContains(t, err, "this host has 2 slots")
	_, err = p.Reserve([]string{"gpu-0"})
	must.ErrorContains(t, err, "not a macos-slot instance ID")
	_, ok, err = ReservedSlot(map[string]string{EnvSlot: "1,2"})
	must.True(t, ok)
	must.ErrorContains(t, err, "count = 1")
	_, ok, err = ReservedSlot(nil)
	must.NoError(t, err)
	must.False(t, ok)
}

func TestSetConfig_RejectsBadValues(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{MacOSSlots: 0, PollInterval: "500ms"}, "macos_slots = 0"},
		{Config{MacOSSlots: 2, PollInterval: "5s"}, "poll_interval"},
		{Config{MacOSSlots: 2, PollInterval: "soon"}, "poll_interval"},
	} {
		p := New(testlog.HCLogger(t))
		c.cfg.SlotsDir = filepath.Join(t.TempDir(), "slots")
		var raw []byte
		must.NoError(t, base.MsgPackEncode(&raw, &c.cfg))
		must.ErrorContains(t, p.SetConfig(&base.Config{PluginConfig: raw}), c.want)
	}
}

func TestStats_NameTheHolders(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "slots")
	p := configured(t, Config{SlotsDir: dir})
	pool, err := slots.New(dir, nil)
	must.NoError(t, err)
	s, err := pool.TryAcquire(slots.KindMacOS, slots.Holder{Owner: "gitlab job 9", VM: "v9"})
	must.NoError(t, err)
	defer s.Release()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := p.Stats(ctx, time.Second)
	must.NoError(t, err)
	r := <-ch
	must.NoError(t, r.Error)
	st := r.Groups[0].InstanceStats
	must.StrContains(t, *st["macos-slot-1"].Summary.StringVal, "gitlab job 9")
	must.Eq(t, "free", *st["macos-slot-2"].Summary.StringVal)
}

// TestFingerprint_ManualTartRunTakesASlot: a macOS VM started by hand
// (`tart run`, no slot file) makes a free instance unhealthy, naming the
// VM; a Linux VM does not; when it stops the instance is healthy again.
func TestFingerprint_ManualTartRunTakesASlot(t *testing.T) {
	sim, home := testenv.TartSim(t), t.TempDir()
	client, err := tart.New(tart.Options{Binary: sim, Home: home, Env: []string{"CI=1"}})
	must.NoError(t, err)
	p := configured(t, Config{SlotsDir: filepath.Join(t.TempDir(), "slots"), PollInterval: "100ms", TartBinary: sim, TartHome: home})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ch, err := p.Fingerprint(ctx)
	must.NoError(t, err)
	must.Eq(t, map[string]bool{"macos-slot-1": true, "macos-slot-2": true}, health(next(t, ch)))

	for _, vm := range []struct{ name, image string }{{"by-hand", "ghcr.io/cirruslabs/macos-sequoia-base:latest"}, {"linux", "ghcr.io/cirruslabs/ubuntu:latest"}} {
		must.NoError(t, client.Clone(ctx, vm.image, vm.name, tart.CloneOptions{}))
		run, err := client.Run(ctx, vm.name, tart.RunOptions{NoGraphics: true, LogPath: filepath.Join(t.TempDir(), vm.name+".log")})
		must.NoError(t, err)
		t.Cleanup(func() {
			_ = client.Stop(context.Background(), vm.name, time.Second)
			<-run.Done()
			_ = client.Delete(context.Background(), vm.name)
		})
	}
	g := nextWithin(t, ch, 3*time.Second)
	must.Eq(t, map[string]bool{"macos-slot-1": true, "macos-slot-2": false}, health(g))
	must.StrContains(t, g.Devices[1].HealthDesc, `macOS VM "by-hand", which runs without a slot`)

	must.NoError(t, client.Stop(ctx, "by-hand", time.Second))
	must.Eq(t, map[string]bool{"macos-slot-1": true, "macos-slot-2": true}, health(nextWithin(t, ch, 3*time.Second)))
}

func nextWithin(t *testing.T, ch <-chan *device.FingerprintResponse, d time.Duration) *device.DeviceGroup {
	t.Helper()
	select {
	case r := <-ch:
		must.NotNil(t, r)
		must.NoError(t, r.Error)
		return r.Devices[0]
	case <-time.After(d):
		t.Fatalf("no fingerprint within %s", d)
		return nil
	}
}

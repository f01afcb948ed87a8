package tartdevice

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/device"
	"github.com/hashicorp/nomad/plugins/shared/hclspec"
	"github.com/hashicorp/nomad/plugins/shared/structs"
	"github.com/tartanhq/tartan/slots"
	"github.com/tartanhq/tartan/tart"
)

// PluginVersion is reported to Nomad.
const PluginVersion = "0.1.0"

const (
	defaultPollInterval = "500ms"
	maxPollInterval     = time.Second // changes reach Nomad within a second
)

// Config is the `plugin "nomad-device-tart" { config { ... } }` block.
// Every field is optional.
type Config struct {
	SlotsDir     string `codec:"slots_dir"`
	MacOSSlots   int    `codec:"macos_slots"`
	PollInterval string `codec:"poll_interval"`
	// TartBinary and TartHome (as the driver's) let the plugin see macOS
	// VMs that run without a slot (a manual `tart run`). Without a usable
	// tart the plugin goes by the slots alone.
	TartBinary string `codec:"tart_binary"`
	TartHome   string `codec:"tart_home"`
}

var configSpec = hclspec.NewObject(map[string]*hclspec.Spec{
	"slots_dir":     hclspec.NewAttr("slots_dir", "string", false),
	"macos_slots":   hclspec.NewDefault(hclspec.NewAttr("macos_slots", "number", false), hclspec.NewLiteral(fmt.Sprint(slots.DefaultMacOSLimit))),
	"poll_interval": hclspec.NewDefault(hclspec.NewAttr("poll_interval", "string", false), hclspec.NewLiteral(`"`+defaultPollInterval+`"`)),
	"tart_binary":   hclspec.NewAttr("tart_binary", "string", false),
	"tart_home":     hclspec.NewAttr("tart_home", "string", false),
})

var pluginInfo = &base.PluginInfoResponse{
	Type:              base.PluginTypeDevice,
	PluginApiVersions: []string{device.ApiVersion010},
	PluginVersion:     PluginVersion,
	Name:              PluginName,
}

// Plugin is the device plugin.
type Plugin struct {
	logger hclog.Logger

	mu        sync.RWMutex
	pool      *slots.Pool
	interval  time.Duration
	untracked *untracked
}

// New returns the plugin; main passes it to plugins.Serve.
func New(logger hclog.Logger) *Plugin { return &Plugin{logger: logger.Named(PluginName)} }

// PluginInfo identifies the plugin.
func (p *Plugin) PluginInfo() (*base.PluginInfoResponse, error) { return pluginInfo, nil }

// ConfigSchema is the plugin block's schema.
func (p *Plugin) ConfigSchema() (*hclspec.Spec, error) { return configSpec, nil }

// SetConfig validates the config and opens the slot directory. It takes
// no lock: Nomad also runs it in a short-lived validation process.
func (p *Plugin) SetConfig(cfg *base.Config) error {
	c := Config{MacOSSlots: slots.DefaultMacOSLimit, PollInterval: defaultPollInterval}
	if len(cfg.PluginConfig) != 0 {
		if err := base.MsgPackDecode(cfg.PluginConfig, &c); err != nil {
			return fmt.Errorf("decoding %s plugin config: %w", PluginName, err)
		}
	}
	if c.MacOSSlots < 1 {
		return fmt.Errorf("%s plugin config: macos_slots = %d: must be at least 1 (Apple's licence allows 2 per Mac); use the same value as the tart driver's max_macos_vms", PluginName, c.MacOSSlots)
	}
	interval, err := time.ParseDuration(c.PollInterval)
	if err != nil || interval <= 0 || interval > maxPollInterval {
		return fmt.Errorf("%s plugin config: poll_interval = %q: want a duration between 1ms and %s, e.g. 500ms", PluginName, c.PollInterval, maxPollInterval)
	}
	pool, err := slots.New(c.SlotsDir, map[slots.Kind]int{slots.KindMacOS: c.MacOSSlots})
	if err != nil {
		return fmt.Errorf("%s plugin config: slots_dir: %w", PluginName, err)
	}
	var u *untracked
	if client, err := tart.New(tart.Options{Binary: c.TartBinary, Home: c.TartHome, Env: []string{"CI=1"}}); err == nil {
		u = &untracked{client: client, os: map[string]string{}}
	} else {
		p.logger.Info("tart not found: macOS VMs run without a slot (manual tart run) are not seen", "error", err)
	}
	p.mu.Lock()
	p.pool, p.interval, p.untracked = pool, interval, u
	p.mu.Unlock()
	return nil
}

func (p *Plugin) snapshot() (*slots.Pool, time.Duration, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.pool == nil {
		return nil, 0, fmt.Errorf("%s: plugin not configured yet", PluginName)
	}
	return p.pool, p.interval, nil
}

func (p *Plugin) untrackedVMs() *untracked {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.untracked
}

// Fingerprint reports the slots as device instances at once and again on
// every change (polled, see slots.Pool.Watch). While it runs the plugin
// holds the scheduler mark, which tells the Tart driver that macOS tasks
// need a reservation.
func (p *Plugin) Fingerprint(ctx context.Context) (<-chan *device.FingerprintResponse, error) {
	pool, interval, err := p.snapshot()
	if err != nil {
		return nil, err
	}
	out := make(chan *device.FingerprintResponse, 1)
	mark, err := pool.HoldMark(MarkName)
	if err != nil {
		// A second plugin on the same slots would double-book them.
		out <- device.NewFingerprintError(fmt.Errorf("%s: slots_dir %s: %w; give each Nomad client its own slots_dir", PluginName, pool.Dir(), err))
		close(out)
		return out, nil
	}
	go func() {
		defer close(out)
		defer mark.Release()
		t := time.NewTicker(interval)
		defer t.Stop()
		u := p.untrackedVMs()
		var last *device.FingerprintResponse
		for {
			holders, err := pool.Holders(slots.KindMacOS)
			resp := device.NewFingerprint(p.group(pool, holders, u.names(ctx, holders)))
			if err != nil {
				resp = device.NewFingerprintError(fmt.Errorf("reading the slots in %s: %w", pool.Dir(), err))
			}
			if last == nil || !sameFingerprint(last, resp) {
				select {
				case out <- resp:
					last = resp
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return out, nil
}

// sameFingerprint: only changes are sent (Nomad updates the node on each).
func sameFingerprint(a, b *device.FingerprintResponse) bool {
	if (a.Error == nil) != (b.Error == nil) || (a.Error != nil && a.Error.Error() != b.Error.Error()) {
		return false
	}
	if len(a.Devices) != len(b.Devices) {
		return false
	}
	for i := range a.Devices {
		if len(a.Devices[i].Devices) != len(b.Devices[i].Devices) {
			return false
		}
		for j, d := range a.Devices[i].Devices {
			e := b.Devices[i].Devices[j]
			if d.ID != e.ID || d.Healthy != e.Healthy || d.HealthDesc != e.HealthDesc {
				return false
			}
		}
	}
	return true
}

// group is the device group for one observation: a slot held by anything
// but a Nomad task (a GitLab job on the same Mac) is unhealthy, so Nomad
// places nothing onto it.
func (p *Plugin) group(pool *slots.Pool, holders []slots.HolderInfo, untracked []string) *device.DeviceGroup {
	held := map[int]slots.HolderInfo{}
	for _, h := range holders {
		held[h.Slot] = h
	}
	g := &device.DeviceGroup{Vendor: Vendor, Type: DeviceType, Name: DeviceName,
		Attributes: map[string]*structs.Attribute{
			"slots_dir": structs.NewStringAttribute(pool.Dir()),
			"guest_os":  structs.NewStringAttribute("macos"),
		}}
	for n := 1; n <= pool.Limit(slots.KindMacOS); n++ {
		d := &device.Device{ID: DeviceID(n), Healthy: true}
		if h, ok := held[n]; ok && !IsNomadOwner(h.Owner) {
			d.Healthy = false
			d.HealthDesc = "held outside Nomad: " + h.String()
		}
		g.Devices = append(g.Devices, d)
	}
	// A macOS VM running without a slot (a manual `tart run`) counts
	// against Apple's limit too: it takes a free slot's place, from the
	// highest number down (Nomad may still hold the low ones).
	for i := len(g.Devices) - 1; i >= 0 && len(untracked) > 0; i-- {
		n := i + 1
		if _, ok := held[n]; ok {
			continue
		}
		g.Devices[i].Healthy = false
		g.Devices[i].HealthDesc = fmt.Sprintf("taken by macOS VM %q, which runs without a slot (a manual tart run?)", untracked[0])
		untracked = untracked[1:]
	}
	return g
}

// Reserve hands the task the slot Nomad chose, through EnvSlot.
func (p *Plugin) Reserve(ids []string) (*device.ContainerReservation, error) {
	pool, _, err := p.snapshot()
	if err != nil {
		return nil, err
	}
	var nums []string
	for _, id := range ids {
		n, err := SlotNumber(id)
		if err != nil {
			return nil, err
		}
		if n > pool.Limit(slots.KindMacOS) {
			return nil, fmt.Errorf("%s: %s: this host has %d slots", PluginName, id, pool.Limit(slots.KindMacOS))
		}
		nums = append(nums, fmt.Sprint(n))
	}
	sort.Strings(nums)
	return &device.ContainerReservation{Envs: map[string]string{EnvSlot: strings.Join(nums, ",")}}, nil
}

// Stats reports each slot's holder as the instance's summary.
func (p *Plugin) Stats(ctx context.Context, interval time.Duration) (<-chan *device.StatsResponse, error) {
	pool, _, err := p.snapshot()
	if err != nil {
		return nil, err
	}
	out := make(chan *device.StatsResponse)
	go func() {
		defer close(out)
		t := time.NewTimer(0)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				t.Reset(interval)
			}
			select {
			case out <- p.stats(pool):
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

func (p *Plugin) stats(pool *slots.Pool) *device.StatsResponse {
	holders, err := pool.Holders(slots.KindMacOS)
	if err != nil {
		return device.NewStatsError(err)
	}
	held := map[int]slots.HolderInfo{}
	for _, h := range holders {
		held[h.Slot] = h
	}
	now := time.Now()
	g := &device.DeviceGroupStats{Vendor: Vendor, Type: DeviceType, Name: DeviceName, InstanceStats: map[string]*device.DeviceStats{}}
	for n := 1; n <= pool.Limit(slots.KindMacOS); n++ {
		v := "free"
		if h, ok := held[n]; ok {
			v = fmt.Sprintf("VM %s (%s, pid %d)", h.VM, h.Owner, h.PID)
		}
		g.InstanceStats[DeviceID(n)] = &device.DeviceStats{Summary: &structs.StatValue{Desc: "holder", StringVal: &v}, Timestamp: now}
	}
	return &device.StatsResponse{Groups: []*device.DeviceGroupStats{g}}
}

// The plugin is a Nomad device plugin.
var _ device.DevicePlugin = (*Plugin)(nil)

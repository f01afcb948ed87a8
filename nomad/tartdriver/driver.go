// Package tartdriver is the Nomad task driver for Tart VMs (driver name
// "tart", binary nomad-driver-tart). See docs/nomad-tart.md.
package tartdriver

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/drivers/shared/eventer"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/hashicorp/nomad/plugins/drivers/fsisolation"
	"github.com/hashicorp/nomad/plugins/shared/hclspec"
	"github.com/tartanhq/tartan/nomad/driverkit"
	"github.com/tartanhq/tartan/slots"
	"github.com/tartanhq/tartan/tart"
)

const (
	// PluginName is the driver name jobs use: driver = "tart".
	PluginName = "tart"
	// PluginVersion is reported to Nomad.
	PluginVersion = "0.1.0"
	// taskHandleVersion is bumped when TaskState changes shape.
	taskHandleVersion = 1
	fingerprintPeriod = 30 * time.Second
)

var pluginInfo = driverkit.PluginInfo(PluginName, PluginVersion)

// capabilities are what really works on a Mac client: Nomad's network
// manager is a no-op on macOS, so only host networking is honest; the VM is
// an image-isolated filesystem; exec and signals go to the guest.
var capabilities = &drivers.Capabilities{
	SendSignals:       true,
	Exec:              true,
	FSIsolation:       fsisolation.Image,
	NetIsolationModes: []drivers.NetIsolationMode{drivers.NetIsolationModeHost},
	MountConfigs:      drivers.MountConfigSupportNone,
}

// Driver is the Tart task driver.
type Driver struct {
	eventer *eventer.Eventer
	logger  hclog.Logger

	ctx    context.Context // ends when the plugin shuts down
	cancel context.CancelFunc

	mu        sync.RWMutex
	config    *PluginConfig
	agentCfg  *base.AgentConfig
	tart      *tart.Client
	pool      *slots.Pool
	gcStarted bool

	tasks    *taskStore
	inFlight sync.Map // VM names being created by StartTask: never garbage collected

	// selfExe is the binary re-executed as the per-task supervisor.
	selfExe string
}

// NewDriver returns the plugin; main passes it to plugins.Serve.
func NewDriver(logger hclog.Logger) *Driver {
	ctx, cancel := context.WithCancel(context.Background())
	logger = logger.Named(PluginName)
	return &Driver{
		eventer: eventer.NewEventer(ctx, logger),
		logger:  logger,
		ctx:     ctx,
		cancel:  cancel,
		tasks:   newTaskStore(),
	}
}

// PluginInfo identifies the plugin.
func (d *Driver) PluginInfo() (*base.PluginInfoResponse, error) { return pluginInfo, nil }

// ConfigSchema is the plugin block's schema.
func (d *Driver) ConfigSchema() (*hclspec.Spec, error) { return pluginConfigSpec, nil }

// TaskConfigSchema is the task config block's schema.
func (d *Driver) TaskConfigSchema() (*hclspec.Spec, error) { return taskConfigSpec, nil }

// Capabilities declares what the driver supports.
func (d *Driver) Capabilities() (*drivers.Capabilities, error) { return capabilities, nil }

// TaskEvents streams driver events (pull progress, boot steps).
func (d *Driver) TaskEvents(ctx context.Context) (<-chan *drivers.TaskEvent, error) {
	return d.eventer.TaskEvents(ctx)
}

// SetConfig validates and applies the plugin config. Nomad calls it in a
// short-lived validation process too (with a nil AgentConfig): nothing
// destructive happens here unless AgentConfig is set, which only the
// long-lived instance gets.
func (d *Driver) SetConfig(cfg *base.Config) error {
	var pc PluginConfig
	if len(cfg.PluginConfig) != 0 {
		if err := base.MsgPackDecode(cfg.PluginConfig, &pc); err != nil {
			return fmt.Errorf("decoding tart plugin config: %w", err)
		}
	} else {
		pc = PluginConfig{MaxMacOSVMs: defaultMaxMacOSVMs, GC: true, GCGrace: defaultGCGrace,
			SSHUser: defaultSSHUser, SSHPassword: defaultSSHPassword, SSHPort: defaultSSHPort,
			ImagePullTimeout: defaultImagePullTimeout, AutoPrune: true}
	}
	if err := validatePluginConfig(&pc); err != nil {
		return err
	}
	client, err := tart.New(tart.Options{Binary: pc.TartBinary, Home: pc.TartHome, NoAutoPrune: !pc.AutoPrune, Env: []string{"CI=1"}})
	if err != nil {
		// Not fatal: the fingerprint reports the node unhealthy with the
		// reason, so the agent still starts and the operator sees why.
		d.logger.Warn("tart not usable", "error", err)
		client = nil
	}
	pool, err := slots.New(pc.SlotsDir, map[slots.Kind]int{slots.KindMacOS: pc.MaxMacOSVMs, slots.KindLinux: pc.MaxLinuxVMs})
	if err != nil {
		return fmt.Errorf("tart plugin config: slots_dir: %w", err)
	}

	d.mu.Lock()
	d.config, d.tart, d.pool = &pc, client, pool
	if cfg.AgentConfig != nil {
		d.agentCfg = cfg.AgentConfig
	}
	startGC := cfg.AgentConfig != nil && pc.GC && !d.gcStarted && client != nil
	if startGC {
		d.gcStarted = true
	}
	d.mu.Unlock()
	if startGC {
		grace, _ := time.ParseDuration(pc.GCGrace)
		go d.collectGarbage(grace)
	}
	return nil
}

func validatePluginConfig(pc *PluginConfig) error {
	if pc.MaxMacOSVMs < 0 {
		return badOption("max_macos_vms", fmt.Sprint(pc.MaxMacOSVMs), "must be >= 0 (0 = no limit; Apple's licence allows 2)")
	}
	if pc.MaxLinuxVMs < 0 {
		return badOption("max_linux_vms", fmt.Sprint(pc.MaxLinuxVMs), "must be >= 0 (0 = no limit)")
	}
	if _, err := parseDuration("gc_grace", pc.GCGrace, defaultGCGrace); err != nil {
		return err
	}
	if _, err := parseDuration("image_pull_timeout", pc.ImagePullTimeout, defaultImagePullTimeout); err != nil {
		return err
	}
	if (pc.Auth.Username == "") != (pc.Auth.Password == "") {
		return badOption("auth", "", "needs both username and password")
	}
	for _, p := range append(append([]string{}, pc.AllowedImages...), pc.DeniedImages...) {
		if p == "" {
			return badOption("allowed_images", "", "patterns must not be empty")
		}
	}
	if _, err := loadPrivateKey("ssh_private_key", pc.SSHPrivateKey); err != nil {
		return err
	}
	return nil
}

// snapshot returns the current config, client and pool together.
func (d *Driver) snapshot() (*PluginConfig, *tart.Client, *slots.Pool, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.config == nil {
		return nil, nil, nil, fmt.Errorf("%w: plugin not configured yet", ErrBadConfig)
	}
	if d.tart == nil {
		_, err := tart.New(tart.Options{Binary: d.config.TartBinary})
		return nil, nil, nil, fmt.Errorf("tart is not available on this node: %w", err)
	}
	return d.config, d.tart, d.pool, nil
}

// hostCompute is the node's total MHz and core count (zero when unknown).
func (d *Driver) hostCompute() (int64, int) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return driverkit.HostCompute(d.agentCfg)
}

// Shutdown stops background work (used by tests and plugin teardown).
func (d *Driver) Shutdown() { d.cancel() }

func (d *Driver) emit(cfg *drivers.TaskConfig, msg string, annotations map[string]string) {
	driverkit.Emit(d.eventer, d.logger, cfg, msg, annotations)
}

// Package containerdriver is the Nomad task driver for Apple's `container`
// CLI (driver name "container", binary nomad-driver-container). Each task is
// one container (one lightweight VM on a Mac) created with `container
// create` and run attached (`container start --attach`) under the shared
// per-task supervisor, so exit codes are real and the workload survives
// plugin and client restarts. See docs/nomad-container.md.
package containerdriver

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
	"github.com/tartanhq/tartan/applecontainer"
	"github.com/tartanhq/tartan/nomad/driverkit"
	"github.com/tartanhq/tartan/nomad/taskstore"
)

const (
	// PluginName is the driver name jobs use: driver = "container".
	PluginName = "container"
	// PluginVersion is reported to Nomad.
	PluginVersion = "0.1.0"
	// taskHandleVersion is bumped when TaskState changes shape.
	taskHandleVersion = 1
	fingerprintPeriod = 30 * time.Second
)

var pluginInfo = driverkit.PluginInfo(PluginName, PluginVersion)

// capabilities are what really works on a Mac client: Nomad's network
// manager is a no-op on macOS, so only host networking is honest (each
// container has its own VM address anyway); the container has its own
// root file system; exec and signals reach the workload.
func capabilities(disableLogs bool) *drivers.Capabilities {
	return &drivers.Capabilities{
		SendSignals:          true,
		Exec:                 true,
		FSIsolation:          fsisolation.Image,
		NetIsolationModes:    []drivers.NetIsolationMode{drivers.NetIsolationModeHost},
		MountConfigs:         drivers.MountConfigSupportAll,
		DisableLogCollection: disableLogs,
	}
}

// Driver is the Apple container task driver.
type Driver struct {
	eventer *eventer.Eventer
	logger  hclog.Logger

	ctx    context.Context // ends when the plugin shuts down
	cancel context.CancelFunc

	mu        sync.RWMutex
	config    *PluginConfig
	agentCfg  *base.AgentConfig
	client    *applecontainer.Client
	clientErr error
	gcStarted bool

	tasks    *taskstore.Store[*taskHandle]
	inFlight sync.Map // container names being created by StartTask: never swept

	// selfExe is the binary re-executed as the per-task supervisor ("" =
	// os.Executable()).
	selfExe string
	// clientEnv is added to the CLI's environment (tests: the simulator's
	// CONTAINER_APP_ROOT); an agent's plugin inherits the agent's instead.
	clientEnv []string
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
		tasks:   taskstore.New[*taskHandle](),
	}
}

// PluginInfo identifies the plugin.
func (d *Driver) PluginInfo() (*base.PluginInfoResponse, error) { return pluginInfo, nil }

// ConfigSchema is the plugin block's schema.
func (d *Driver) ConfigSchema() (*hclspec.Spec, error) { return pluginConfigSpec, nil }

// TaskConfigSchema is the task config block's schema.
func (d *Driver) TaskConfigSchema() (*hclspec.Spec, error) { return taskConfigSpec, nil }

// Capabilities declares what the driver supports.
func (d *Driver) Capabilities() (*drivers.Capabilities, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return capabilities(d.config != nil && d.config.DisableLogCollection), nil
}

// TaskEvents streams driver events (pull progress, container start).
func (d *Driver) TaskEvents(ctx context.Context) (<-chan *drivers.TaskEvent, error) {
	return d.eventer.TaskEvents(ctx)
}

// defaultPluginConfig is what an agent without a plugin block gets.
func defaultPluginConfig() *PluginConfig {
	return &PluginConfig{GC: GCConfig{Container: true}, Volumes: VolumeConfig{Enabled: true},
		ImagePullTimeout: defaultImagePullTimeout, GCGrace: defaultGCGrace}
}

// SetConfig validates and applies the plugin config. Nomad calls it in a
// short-lived validation process too (with a nil AgentConfig): the orphan
// sweep only starts in the long-lived instance, which gets AgentConfig.
func (d *Driver) SetConfig(cfg *base.Config) error {
	pc := defaultPluginConfig()
	if len(cfg.PluginConfig) != 0 {
		pc = &PluginConfig{}
		if err := base.MsgPackDecode(cfg.PluginConfig, pc); err != nil {
			return fmt.Errorf("decoding container plugin config: %w", err)
		}
	}
	if err := validatePluginConfig(pc); err != nil {
		return err
	}
	client, err := applecontainer.New(applecontainer.Options{Binary: pc.ContainerPath, Env: d.clientEnv})
	if err != nil {
		// Not fatal: the fingerprint reports the driver undetected with the
		// reason, so the agent still starts and the operator sees why.
		d.logger.Warn("container CLI not usable", "error", err)
		client = nil
	}
	d.mu.Lock()
	d.config, d.client, d.clientErr = pc, client, err
	if cfg.AgentConfig != nil {
		d.agentCfg = cfg.AgentConfig
	}
	startGC := cfg.AgentConfig != nil && pc.GC.Container && !d.gcStarted && client != nil
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
	if _, err := parseDuration("image_pull_timeout", pc.ImagePullTimeout, defaultImagePullTimeout); err != nil {
		return err
	}
	if _, err := parseDuration("gc_grace", pc.GCGrace, defaultGCGrace); err != nil {
		return err
	}
	if (pc.Auth.Username == "") != (pc.Auth.Password == "") {
		return badOption("auth", "", "needs both username and password")
	}
	return validateExtraLabels(pc.ExtraLabels)
}

// snapshot returns the current config and client together.
func (d *Driver) snapshot() (*PluginConfig, *applecontainer.Client, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.config == nil {
		return nil, nil, fmt.Errorf("%w: plugin not configured yet", ErrBadConfig)
	}
	if d.client == nil {
		return nil, nil, fmt.Errorf("the container CLI is not available on this node: %w", d.clientErr)
	}
	return d.config, d.client, nil
}

// hostCores is the node's core count as Nomad sees it.
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

package tartdriver

import (
	"errors"
	"fmt"

	"github.com/tartanhq/tartan/nomad/driverkit"
)

// Sentinel errors of the driver, matched with errors.Is.
var (
	// ErrBadConfig: the job's task config (or the plugin config) is invalid.
	ErrBadConfig = errors.New("invalid tart driver configuration")
	// ErrImageNotAllowed: the plugin's allowed_images / denied_images refuse the image.
	ErrImageNotAllowed = errors.New("image not allowed on this node")
	// ErrNoSlot: the host-wide VM limit is reached; the restart policy retries.
	ErrNoSlot = errors.New("no free VM slot on this node")
	// ErrNoCredentials: a command must run over SSH but no password or key is configured.
	ErrNoCredentials = errors.New("no usable guest credentials")
	// ErrVMDied: the VM ended while the driver was waiting for it to boot.
	ErrVMDied = errors.New("VM stopped while starting")
	// ErrSignalRefused: the signal would harm the task (see SignalTask).
	ErrSignalRefused = errors.New("signal refused")
)

// ConfigError names the option at fault and says how to fix it.
type ConfigError struct {
	Option string
	Value  string
	Reason string
}

func (e *ConfigError) Error() string { return driverkit.OptionMessage(e.Option, e.Value, e.Reason) }

// Unwrap makes every ConfigError match ErrBadConfig.
func (e *ConfigError) Unwrap() error { return ErrBadConfig }

func badOption(option, value, format string, args ...any) error {
	return &ConfigError{Option: option, Value: value, Reason: fmt.Sprintf(format, args...)}
}

package containerdriver

import (
	"errors"
	"fmt"

	"github.com/tartanhq/tartan/nomad/driverkit"
)

// Sentinel errors of the driver, matched with errors.Is.
var (
	// ErrBadConfig: the job's task config (or the plugin config) is invalid.
	ErrBadConfig = errors.New("invalid container driver configuration")
	// ErrNoOutcome: the task ended but its exit status is unknown (the
	// supervisor died without recording it).
	ErrNoOutcome = errors.New("exit status unknown")
	// ErrStartFailed: `container start` itself failed (not the workload).
	ErrStartFailed = errors.New("container failed to start")
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

package driverkit

import (
	"errors"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/drivers/shared/eventer"
	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/drivers"
)

// StartFailed reports a failed StartTask (a task event and an error log
// line) and returns the error StartTask should return: a RecoverableError
// in err's chain by itself, since only a bare one crosses gRPC as
// recoverable, else err.
func StartFailed(ev *eventer.Eventer, logger hclog.Logger, cfg *drivers.TaskConfig, err error) error {
	Emit(ev, logger, cfg, "Start failed: "+err.Error(), nil)
	logger.Error("starting task", "task", cfg.Name, "alloc", cfg.AllocID, "error", err)
	var rec *structs.RecoverableError
	if errors.As(err, &rec) {
		return rec
	}
	return err
}

package tartdriver

import (
	"errors"
	"fmt"

	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/tartanhq/tartan/nomad/tartdevice"
	"github.com/tartanhq/tartan/slots"
)

// ErrNoReservation: the client runs the nomad-device-tart device plugin and
// a macOS task came without a macOS-slot reservation.
var ErrNoReservation = errors.New("macOS task without a macos-slot device reservation")

// takeSlot takes the VM slot for a task. With a reservation from the
// nomad-device-tart device plugin it is exactly the reserved slot; on a
// client running that plugin a macOS task without one is refused (Nomad
// would otherwise place it blind to the slots); elsewhere any free slot.
// Linux guests ignore reservations (they need none).
func takeSlot(pool *slots.Pool, kind slots.Kind, cfg *drivers.TaskConfig) (*slots.Slot, error) {
	holder := slots.Holder{Owner: tartdevice.HolderOwner(cfg.JobName, cfg.Name, cfg.AllocID), VM: vmName(cfg.AllocID, cfg.Name)}
	n, reserved, err := tartdevice.ReservedSlot(cfg.Env)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadConfig, err)
	}
	var slot *slots.Slot
	switch {
	case kind != slots.KindMacOS:
		slot, err = pool.TryAcquire(kind, holder)
	case reserved:
		slot, err = pool.TryAcquireNumber(kind, n, holder)
		if errors.Is(err, slots.ErrNoSuchSlot) {
			return nil, fmt.Errorf("%w: Nomad reserved macOS slot %d but the driver's max_macos_vms is %d: give the device plugin's macos_slots and the driver's max_macos_vms the same value", ErrBadConfig, n, pool.Limit(kind))
		}
	default:
		marked, merr := pool.Marked(tartdevice.MarkName)
		if merr == nil && marked {
			return nil, fmt.Errorf("%w: this client schedules macOS VMs with the %s device plugin; add to the task's resources block: %s", ErrNoReservation, tartdevice.PluginName, tartdevice.DeviceBlock)
		}
		slot, err = pool.TryAcquire(kind, holder)
	}
	if errors.Is(err, slots.ErrBusy) {
		// The restart policy retries: a VM outside Nomad may end soon.
		return nil, structs.NewRecoverableError(fmt.Errorf("%w: %v", ErrNoSlot, err), true)
	}
	return slot, err
}

package tartdriver

import (
	"testing"

	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/nomad/tartdevice"
	"github.com/tartanhq/tartan/slots"
)

// TestReservation_DriverTakesExactlyTheReservedSlot: with the device
// plugin's mark on the slots, a macOS task runs in the slot Nomad reserved,
// one without a reservation is refused naming the device block to add (no
// VM left), and Linux guests need no reservation.
func TestReservation_DriverTakesExactlyTheReservedSlot(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	pool, err := slots.New(e.slots, nil)
	must.NoError(t, err)

	// Without the device plugin a macOS task takes any free slot.
	free := newTask(t, "free", TaskConfig{Image: macImage})
	mkAllocDirNoLogs(t, h, free)
	start(t, h, free)
	must.NoError(t, h.DestroyTask(free.ID, true))

	mark, err := pool.HoldMark(tartdevice.MarkName)
	must.NoError(t, err)
	defer mark.Release()

	reserved := newTask(t, "reserved", TaskConfig{Image: macImage})
	reserved.Env = map[string]string{tartdevice.EnvSlot: "2"}
	mkAllocDirNoLogs(t, h, reserved)
	start(t, h, reserved)
	holders, err := pool.Holders(slots.KindMacOS)
	must.NoError(t, err)
	must.Len(t, 1, holders)
	must.Eq(t, 2, holders[0].Slot)
	must.Eq(t, vmName(reserved.AllocID, reserved.Name), holders[0].VM)

	// The reserved slot is busy (outside Nomad): recoverable, retried.
	taken := newTask(t, "taken", TaskConfig{Image: macImage})
	taken.Env = map[string]string{tartdevice.EnvSlot: "2"}
	mkAllocDirNoLogs(t, h, taken)
	_, _, err = h.StartTask(taken)
	must.ErrorContains(t, err, "no free VM slot")
	must.False(t, e.vmExists(vmName(taken.AllocID, taken.Name)))

	blind := newTask(t, "blind", TaskConfig{Image: macImage})
	mkAllocDirNoLogs(t, h, blind)
	_, _, err = h.StartTask(blind)
	must.ErrorContains(t, err, `add to the task's resources block: device "tartan/vm/macos-slot" { count = 1 }`)
	must.False(t, e.vmExists(vmName(blind.AllocID, blind.Name)))

	linux := newTask(t, "linux", TaskConfig{Image: linuxImage})
	mkAllocDirNoLogs(t, h, linux)
	start(t, h, linux)
}

// Package tartdevice is the Nomad device plugin nomad-device-tart: it
// offers the host's macOS VM slots (package slots) as device instances
// tartan/vm/macos-slot, so Nomad's scheduler places at most as many macOS
// tasks on a Mac as it has free slots, and the Tart driver starts each VM
// in exactly the slot Nomad reserved. See docs/nomad-tart.md.
package tartdevice

import (
	"fmt"
	"strconv"
	"strings"
)

// The contract between this plugin, the Tart driver and job authors.
const (
	// PluginName is the plugin's name (and the binary's file name, which
	// is the label of its plugin block).
	PluginName = "nomad-device-tart"
	// Vendor, DeviceType and DeviceName make the device's name as jobs
	// request it: device "tartan/vm/macos-slot".
	Vendor     = "tartan"
	DeviceType = "vm"
	DeviceName = "macos-slot"
	// EnvSlot carries the reserved slot's number into the task: the
	// driver takes exactly that slot.
	EnvSlot = "TARTAN_MACOS_SLOT"
	// MarkName is the scheduler mark (slots.Pool.HoldMark) the plugin
	// holds while it runs: a driver that sees it refuses macOS tasks that
	// bring no reservation.
	MarkName = "nomad-device-tart"
	// DeviceBlock is what a macOS task adds to its resources block.
	DeviceBlock = `device "tartan/vm/macos-slot" { count = 1 }`

	idPrefix   = DeviceName + "-"
	nomadOwner = "nomad "
)

// DeviceID is the instance ID of slot n.
func DeviceID(n int) string { return idPrefix + strconv.Itoa(n) }

// SlotNumber parses an instance ID.
func SlotNumber(id string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(id, idPrefix))
	if err != nil || !strings.HasPrefix(id, idPrefix) || n < 1 {
		return 0, fmt.Errorf("%q is not a %s instance ID (want %s<n>)", id, DeviceName, idPrefix)
	}
	return n, nil
}

// HolderOwner is the owner the Tart driver writes into a slot's holder
// record; the plugin counts such holders as Nomad's own.
func HolderOwner(job, task, allocID string) string {
	return nomadOwner + job + "/" + task + " alloc " + allocID
}

// IsNomadOwner reports whether a holder record's owner is a Nomad task.
func IsNomadOwner(owner string) bool { return strings.HasPrefix(owner, nomadOwner) }

// ReservedSlot reads the slot Nomad reserved for a task from its
// environment: ok is false without a reservation.
func ReservedSlot(env map[string]string) (n int, ok bool, err error) {
	v, ok := env[EnvSlot]
	if !ok {
		return 0, false, nil
	}
	if strings.Contains(v, ",") {
		return 0, true, fmt.Errorf("%s = %q: a task runs one VM and takes one slot; request the device with count = 1", EnvSlot, v)
	}
	n, err = strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, true, fmt.Errorf("%s = %q is not a slot number", EnvSlot, v)
	}
	return n, true, nil
}

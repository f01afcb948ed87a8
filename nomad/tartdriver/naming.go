package tartdriver

import (
	"strings"

	"github.com/tartanhq/tartan/nomad/naming"
)

// vmPrefix marks the VMs this driver creates; the garbage collector only
// ever looks at names with this prefix (GitLab jobs use their own).
const vmPrefix = "nomad-"

// maxTaskPart is the task part's length limit: 40 characters of the name
// plus a 9-character hash when the name had to be changed.
const maxTaskPart = 49

// vmName derives the VM's name from the allocation ID and the task name:
// valid for tart (no '/'), unique per task of an allocation, stable across
// restarts of the task, and parseable back to the allocation for garbage
// collection. The task ID is never used: it changes on every start and
// contains '/'.
func vmName(allocID, task string) string {
	return vmPrefix + allocID + "-" + naming.Part(task, maxTaskPart)
}

// allocIDFromVMName returns the allocation a driver-made VM belongs to.
func allocIDFromVMName(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, vmPrefix)
	if !ok || len(rest) < 38 || rest[36] != '-' {
		return "", false
	}
	id := rest[:36]
	return id, naming.IsAllocID(id)
}

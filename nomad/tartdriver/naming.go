package tartdriver

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

// vmPrefix marks the VMs this driver creates; the garbage collector only
// ever looks at names with this prefix (GitLab jobs use their own).
const vmPrefix = "nomad-"

const maxTaskPart = 40

var (
	unsafeNameChars = regexp.MustCompile(`[^a-z0-9-]+`)
	allocIDRE       = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// vmName derives the VM's name from the allocation ID and the task name:
// valid for tart (no '/'), unique per task of an allocation, stable across
// restarts of the task, and parseable back to the allocation for garbage
// collection. The task ID is never used: it changes on every start and
// contains '/'.
func vmName(allocID, task string) string {
	t := strings.Trim(unsafeNameChars.ReplaceAllString(strings.ToLower(task), "-"), "-")
	if t == "" || t != task || len(t) > maxTaskPart {
		// Keep the name unique when sanitising or truncating merged two
		// task names: append a short hash of the real one.
		sum := sha256.Sum256([]byte(task))
		if len(t) > maxTaskPart {
			t = t[:maxTaskPart]
		}
		t = strings.Trim(t, "-") + "-" + hex.EncodeToString(sum[:4])
		t = strings.TrimPrefix(t, "-")
	}
	return vmPrefix + allocID + "-" + t
}

// allocIDFromVMName returns the allocation a driver-made VM belongs to.
func allocIDFromVMName(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, vmPrefix)
	if !ok || len(rest) < 38 || rest[36] != '-' {
		return "", false
	}
	id := rest[:36]
	return id, allocIDRE.MatchString(id)
}

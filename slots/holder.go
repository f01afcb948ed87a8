package slots

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Holder says who takes a slot; it is written into the lock file.
type Holder struct {
	Owner string // e.g. "gitlab job 1234" or "nomad alloc 5f2c…/task"
	VM    string // the tart VM name
}

// HolderInfo is what Holders reports for one held slot.
type HolderInfo struct {
	Slot  int       `json:"-"` // the n in <kind>-<n>.lock
	Path  string    `json:"-"`
	Owner string    `json:"owner"`
	VM    string    `json:"vm"`
	PID   int       `json:"pid"` // the acquirer, or the VM process after Slot.SetPID
	Since time.Time `json:"since"`
}

func (h HolderInfo) String() string {
	if h.PID == 0 && h.Owner == "" && h.VM == "" {
		return fmt.Sprintf("slot %d held (holder not recorded yet)", h.Slot)
	}
	return fmt.Sprintf("slot %d held by %q for VM %q (pid %d, since %s)",
		h.Slot, h.Owner, h.VM, h.PID, h.Since.UTC().Format(time.RFC3339))
}

func encodeHolder(h HolderInfo) []byte {
	b, _ := json.Marshal(h) // plain strings, ints and a time: cannot fail
	return append(b, '\n')
}

// decodeHolder reads the first JSON value. A writer rewrites in place and
// then truncates, so a reader racing it may see trailing bytes of the older,
// longer record: those are ignored. Garbage yields an empty record.
func decodeHolder(b []byte) HolderInfo {
	var h HolderInfo
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&h); err != nil {
		return HolderInfo{}
	}
	return h
}

package tart

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// State of a VM as tart reports it.
type State string

// VM states.
const (
	StateRunning   State = "running"
	StateSuspended State = "suspended"
	StateStopped   State = "stopped"
)

// VMInfo is `tart get --format json`. Missing fields (older tart) stay zero.
type VMInfo struct {
	OS         string // "darwin" / "linux" (2.8.0+; "" before)
	CPU        int
	Memory     int // MiB
	Disk       int // GB, apparent size
	DiskFormat string
	Size       string // allocated GB as tart prints it, e.g. "22.310"
	Display    string
	Running    bool
	State      State // derived from Running before 1.8.0
}

// VMEntry is one element of `tart list --format json`.
type VMEntry struct {
	Source     string // "local" or "OCI" (older tart: "oci")
	Name       string
	Disk       int // GB
	Size       int // GB allocated
	SizeOnDisk int // 2.15.0..2.30.x only
	Accessed   time.Time
	Running    bool
	State      State
}

// Local reports whether the entry is a local VM (not an OCI cache entry).
func (e VMEntry) Local() bool { return strings.EqualFold(e.Source, "local") }

// flexString accepts a JSON string or number (tart's Size is a string in get
// and a number in list; be lenient both ways).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or number, got %s", b)
	}
	*f = flexString(n.String())
	return nil
}

// flexInt accepts a JSON number or a numeric string; fractional values are
// truncated.
type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if s == "" {
		return nil
	}
	v, err := strconv.ParseFloat(string(s), 64)
	if err != nil {
		return fmt.Errorf("want a number, got %s", b)
	}
	*f = flexInt(int(v))
	return nil
}

// Keys are matched case-insensitively by encoding/json; unknown keys are
// ignored.
type rawInfo struct {
	OS         string
	CPU        flexInt
	Memory     flexInt
	Disk       flexInt
	DiskFormat string
	Size       flexString
	Display    string
	Running    bool
	State      string
}

type rawEntry struct {
	Source     string
	Name       string
	Disk       flexInt
	Size       flexInt
	SizeOnDisk flexInt
	Accessed   string
	Running    bool
	State      string
}

func deriveState(state string, running bool) State {
	if state != "" {
		return State(strings.ToLower(state))
	}
	if running {
		return StateRunning
	}
	return StateStopped
}

// ParseVMInfo decodes `tart get --format json` output.
func ParseVMInfo(data []byte) (VMInfo, error) {
	var r rawInfo
	if err := json.Unmarshal(data, &r); err != nil {
		return VMInfo{}, fmt.Errorf("parsing tart get JSON: %w", err)
	}
	return VMInfo{
		OS: r.OS, CPU: int(r.CPU), Memory: int(r.Memory), Disk: int(r.Disk), DiskFormat: r.DiskFormat,
		Size: string(r.Size), Display: r.Display, Running: r.Running, State: deriveState(r.State, r.Running),
	}, nil
}

// ParseVMList decodes `tart list --format json` output.
func ParseVMList(data []byte) ([]VMEntry, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var rs []rawEntry
	if err := json.Unmarshal(data, &rs); err != nil {
		return nil, fmt.Errorf("parsing tart list JSON: %w", err)
	}
	out := make([]VMEntry, 0, len(rs))
	for _, r := range rs {
		e := VMEntry{
			Source: r.Source, Name: r.Name, Disk: int(r.Disk), Size: int(r.Size), SizeOnDisk: int(r.SizeOnDisk),
			Running: r.Running, State: deriveState(r.State, r.Running),
		}
		if r.Accessed != "" {
			t, err := time.Parse(time.RFC3339Nano, r.Accessed)
			if err != nil {
				return nil, fmt.Errorf("parsing tart list JSON: Accessed %q of %q: %w", r.Accessed, r.Name, err)
			}
			e.Accessed = t
		}
		out = append(out, e)
	}
	return out, nil
}

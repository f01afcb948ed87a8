package tartsim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// A simulated suspend snapshot (state.vzvmsave). Virtualization.framework
// restores saved state only into the configuration it was taken with: a
// different MAC (tart PR #527 reported an invalid-argument exception), CPU
// count or memory size make the restore fail. The simulator records those
// in the file and refuses a resume that does not match. Directory shares:
// the set of (name, tag, read-only) must match; their host paths may
// differ (unverified on a real Mac, see docs/tart-sim.md).
type snapshotState struct {
	Magic      string   `json:"tartSimSnapshot"`
	MAC        string   `json:"mac"`
	CPUCount   int      `json:"cpuCount"`
	MemorySize uint64   `json:"memorySize"`
	Shares     []string `json:"shares"`
}

const snapshotMagic = "v1"

// shareKeys is the comparable form of a run's --dir shares.
func shareKeys(dirs []runShare) []string {
	out := make([]string, 0, len(dirs))
	for _, s := range dirs {
		n := s.Name
		if n == "" {
			n = filepath.Base(s.Path)
		}
		out = append(out, fmt.Sprintf("%s|%s|%v", n, s.Tag, s.ReadOnly))
	}
	sort.Strings(out)
	return out
}

// writeSnapshot writes state.vzvmsave: the fingerprint, then a hole up to
// the guest's memory size (a real save file is about as large as the RAM
// in use; sparse here so tests stay cheap).
func writeSnapshot(path string, cfg *vmConfig, dirs []runShare) error {
	b, err := json.Marshal(snapshotState{Magic: snapshotMagic, MAC: cfg.MACAddress, CPUCount: cfg.CPUCount,
		MemorySize: cfg.MemorySize, Shares: shareKeys(dirs)})
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if size := int64(cfg.MemorySize); size > int64(len(b))+1 {
		if err := f.Truncate(size); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// restoreError says why a saved state cannot be restored into this run
// ("" = it can). TART_SIM_RESUME_FAIL=refuse makes every restore fail.
func restoreError(path string, cfg *vmConfig, dirs []runShare, forceFail bool) string {
	const prefix = `Error Domain=VZErrorDomain Code=12 "The virtual machine failed to restore its state: `
	if forceFail {
		return prefix + `the saved state is invalid (tart-sim fault TART_SIM_RESUME_FAIL)."`
	}
	f, err := os.Open(path)
	if err != nil {
		return prefix + err.Error() + `."`
	}
	defer f.Close()
	var s snapshotState
	if err := json.NewDecoder(f).Decode(&s); err != nil || s.Magic != snapshotMagic {
		return prefix + `the saved state is not readable (invalid argument)."`
	}
	var diffs []string
	if !macEqual(s.MAC, cfg.MACAddress) {
		diffs = append(diffs, "MAC address")
	}
	if s.CPUCount != cfg.CPUCount {
		diffs = append(diffs, "CPU count")
	}
	if s.MemorySize != cfg.MemorySize {
		diffs = append(diffs, "memory size")
	}
	if strings.Join(s.Shares, ",") != strings.Join(shareKeys(dirs), ",") {
		diffs = append(diffs, "directory shares")
	}
	if len(diffs) > 0 {
		return prefix + "the configuration differs from the saved one (" + strings.Join(diffs, ", ") + `): invalid argument."`
	}
	return ""
}

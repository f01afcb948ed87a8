package gitlab

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Record is what prepare leaves on the host for the later stages and for
// the sweeper. It lives at <state_dir>/vms/<vm>.json and is written before
// the VM is cloned, so a crash at any point leaves a record to sweep by.
type Record struct {
	VM      string    `json:"vm"`
	JobID   string    `json:"job_id"`
	Created time.Time `json:"created"`
	// Owner is the gitlab-runner process (the stages' parent). While it is
	// alive the VM belongs to a live job; OwnerStart guards against PID reuse.
	OwnerPID   int    `json:"owner_pid"`
	OwnerStart string `json:"owner_start,omitempty"`

	Image   string `json:"image,omitempty"`
	GuestOS string `json:"guest_os,omitempty"`
	IP      string `json:"ip,omitempty"`
	// Transport actually used in prepare ("agent" or "ssh"), so run does not
	// probe again.
	Transport string `json:"transport,omitempty"`
	RunPID    int    `json:"run_pid,omitempty"`
	RunStart  string `json:"run_start,omitempty"` // start time of RunPID, against PID reuse
	// TartVersion is what prepare learnt (`tart --version`): later stages
	// seed their client with it instead of asking again.
	TartVersion string `json:"tart_version,omitempty"`
	RunLog      string `json:"run_log,omitempty"`
	// JobDir holds the tart run log and per-job host dirs; removed in cleanup.
	JobDir string `json:"job_dir"`

	Failed    bool      `json:"failed,omitempty"`     // a script stage failed
	Canceled  bool      `json:"canceled,omitempty"`   // a stage got SIGTERM
	KeepUntil time.Time `json:"keep_until,omitempty"` // kept for debugging until then
}

func recordPath(stateDir, vm string) string {
	return filepath.Join(stateDir, "vms", vm+".json")
}

func jobDir(stateDir, vm string) string {
	return filepath.Join(stateDir, "jobs", vm)
}

// saveRecord writes r atomically (rename), so a reader never sees half a file.
func saveRecord(stateDir string, r *Record) error {
	dir := filepath.Join(stateDir, "vms")
	if err := ensureSharedDir(dir); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+r.VM+".*")
	if err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), recordPath(stateDir, r.VM)); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return nil
}

// loadRecord returns ErrNoState (wrapped) when there is none.
func loadRecord(stateDir, vm string) (*Record, error) {
	b, err := os.ReadFile(recordPath(stateDir, vm))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w %s in %s: did prepare run on this host?", ErrNoState, vm, stateDir)
	}
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("state record %s is damaged: %v", recordPath(stateDir, vm), err)
	}
	return &r, nil
}

// updateRecord loads, changes and saves a record (no-op without one).
func updateRecord(stateDir, vm string, change func(*Record)) error {
	r, err := loadRecord(stateDir, vm)
	if err != nil {
		return err
	}
	change(r)
	return saveRecord(stateDir, r)
}

// removeJobState deletes the record and the job's host dir.
func removeJobState(stateDir, vm string) error {
	errDir := os.RemoveAll(jobDir(stateDir, vm))
	errRec := os.Remove(recordPath(stateDir, vm))
	if errors.Is(errRec, fs.ErrNotExist) {
		errRec = nil
	}
	return errors.Join(errDir, errRec)
}

// ownerAlive reports whether the runner process that owns a record is
// still the same live process.
func ownerAlive(r *Record) bool {
	if r.OwnerPID <= 0 {
		return false
	}
	if !pidAlive(r.OwnerPID) {
		return false
	}
	if r.OwnerStart == "" {
		return true
	}
	start, ok := processStart(r.OwnerPID)
	return !ok || start == r.OwnerStart
}

// ensureSharedDir creates dir (and missing parents) world-writable and
// sticky, like /tmp: runners of several users on one host share the state
// dir, and none can remove another's files. An existing dir is left as is.
func ensureSharedDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := ensureSharedDir(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o777); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("state dir: %w (state_dir must be writable by the runner)", err)
	}
	// Mkdir's mode is cut by the umask; set it exactly (best effort when
	// another user created it in between).
	_ = os.Chmod(dir, os.ModeSticky|0o777)
	return nil
}

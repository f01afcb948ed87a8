package tartdriver

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tartanhq/tartan/tart"
)

// recordDirName is the driver's own per-task state, inside TART_HOME: after
// a client restart Nomad hands RecoverTask the task handle but not the raw
// driver config, so what exec, signals, stats and stop need is kept here.
// The directory is 0700 and the files 0600 (they hold the guest
// credentials): outside the alloc dir, so `nomad alloc fs` cannot read them.
const recordDirName = "nomad-driver-tasks"

// taskRecord is the part of a task's settings the driver needs after a
// recovery, plus what the boot learned (the IP).
type taskRecord struct {
	Transport    string        `json:"transport"`
	SSHUser      string        `json:"ssh_user,omitempty"`
	SSHPassword  string        `json:"ssh_password,omitempty"`
	SSHKey       []byte        `json:"ssh_key,omitempty"`
	SSHPort      int           `json:"ssh_port,omitempty"`
	WorkDir      string        `json:"work_dir,omitempty"`
	Command      []string      `json:"command,omitempty"`
	ReadyTimeout time.Duration `json:"ready_timeout"`
	Bridged      bool          `json:"bridged,omitempty"`
	Suspendable  bool          `json:"suspendable,omitempty"`
	IP           string        `json:"ip,omitempty"`
}

func recordFor(s *taskSettings, ip string) taskRecord {
	return taskRecord{Transport: s.Transport, SSHUser: s.SSHUser, SSHPassword: s.SSHPassword, SSHKey: s.SSHPrivateKey,
		SSHPort: s.SSHPort, WorkDir: s.WorkDir, Command: s.Command, ReadyTimeout: s.ReadyTimeout,
		Bridged: s.Run.Net.Mode == tart.NetBridged, Suspendable: s.Run.Suspendable, IP: ip}
}

// settings rebuilds the settings a recovered task runs with.
func (r taskRecord) settings() *taskSettings {
	s := &taskSettings{Transport: r.Transport, SSHUser: r.SSHUser, SSHPassword: r.SSHPassword, SSHPrivateKey: r.SSHKey,
		SSHPort: r.SSHPort, WorkDir: r.WorkDir, Command: r.Command, ReadyTimeout: r.ReadyTimeout}
	if r.Bridged {
		s.Run.Net.Mode = tart.NetBridged
	}
	s.Run.Suspendable = r.Suspendable
	return s
}

// recordPath is where the record of the task running in VM vm lives.
func recordPath(pc *PluginConfig, vm string) string {
	return filepath.Join(tartHome(pc), recordDirName, vm+".json")
}

// writeRecord replaces the record atomically, private to the plugin's user.
func writeRecord(path string, r taskRecord) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating the driver's task record directory: %w", err)
	}
	// MkdirAll keeps an existing directory's mode: make sure it is private.
	if err := os.Chmod(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("securing the driver's task record directory: %w", err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".record-*")
	if err != nil {
		return fmt.Errorf("writing the task record: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the task record: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the task record: %w", err)
	}
	return os.Rename(tmp.Name(), path)
}

var errNoRecord = errors.New("no task record")

func readRecord(path string) (taskRecord, error) {
	var r taskRecord
	if path == "" {
		return r, errNoRecord
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return r, errNoRecord
	}
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("task record %s: %w", path, err)
	}
	return r, nil
}

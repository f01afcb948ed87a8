package tartsim

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// vmDir is one VM directory: vms/<name> or an OCI cache digest directory.
type vmDir struct {
	name  string
	path  string
	local bool // vms/<name>: the name must be a plain file name
}

const (
	stateRunning   = "running"
	stateSuspended = "suspended"
	stateStopped   = "stopped"
)

func (d *vmDir) configPath() string  { return filepath.Join(d.path, "config.json") }
func (d *vmDir) diskPath() string    { return filepath.Join(d.path, "disk.img") }
func (d *vmDir) nvramPath() string   { return filepath.Join(d.path, "nvram.bin") }
func (d *vmDir) statePath() string   { return filepath.Join(d.path, "state.vzvmsave") }
func (d *vmDir) controlSock() string { return filepath.Join(d.path, "control.sock") }

// Simulator-only files (documented in docs/tart-sim.md).
func (d *vmDir) imagePath() string { return filepath.Join(d.path, "sim-image.json") }
func (d *vmDir) runPath() string   { return filepath.Join(d.path, "sim-run.json") }
func (d *vmDir) guestHome() string { return filepath.Join(d.path, "guest-home") }

// safe reports whether a local VM name stays inside vms/ ("../x" must
// never reach the file system: delete would remove whatever it names).
func (d *vmDir) safe() bool {
	return !d.local || d.name != "" && d.name != "." && d.name != ".." && !strings.ContainsAny(d.name, "/\x00")
}

func (d *vmDir) exists() bool {
	if !d.safe() {
		return false
	}
	st, err := os.Stat(d.path)
	return err == nil && st.IsDir()
}

// initialized: a directory counts as a VM only if all three files exist.
func (d *vmDir) initialized() bool {
	if !d.safe() {
		return false
	}
	for _, p := range []string{d.configPath(), d.diskPath(), d.nvramPath()} {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}

// open validates a local VM and bumps its access time, like VMStorageLocal.open.
func (d *vmDir) open() error {
	if !d.exists() {
		return vmDoesNotExist(d.name)
	}
	if !d.initialized() {
		return runtimeFailf("VM is missing some of its files (config.json, disk.img or nvram.bin)")
	}
	now := time.Now()
	_ = os.Chtimes(d.path, now, now)
	return nil
}

func (d *vmDir) readConfig() (*vmConfig, error) {
	b, err := os.ReadFile(d.configPath())
	if err != nil {
		return nil, err
	}
	c, err := parseVMConfig(b)
	if err != nil {
		return nil, failf("dataCorrupted(config.json: %v)", err)
	}
	return c, nil
}

// writeConfig rewrites config.json in place: replacing the file would move
// it away from under the fcntl lock of a running `tart run`.
func (d *vmDir) writeConfig(c *vmConfig) error {
	f, err := os.OpenFile(d.configPath(), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(c.encode()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// lockPID returns the pid holding the fcntl write lock on config.json (0 = none).
func (d *vmDir) lockPID() int {
	f, err := os.Open(d.configPath())
	if err != nil {
		return 0
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 0}
	if err := unix.FcntlFlock(f.Fd(), unix.F_GETLK, &lk); err != nil {
		return 0
	}
	if lk.Type == unix.F_UNLCK {
		return 0
	}
	return int(lk.Pid)
}

func (d *vmDir) state() string {
	if d.lockPID() != 0 {
		return stateRunning
	}
	if _, err := os.Stat(d.statePath()); err == nil {
		return stateSuspended
	}
	return stateStopped
}

// sizes returns the apparent size of config+disk+nvram and their allocated size, in bytes.
func (d *vmDir) sizes() (apparent, allocated int64) {
	for _, p := range []string{d.configPath(), d.diskPath(), d.nvramPath()} {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			continue
		}
		apparent += st.Size
		allocated += int64(st.Blocks) * 512
	}
	return apparent, allocated
}

func (d *vmDir) accessed() time.Time {
	t, err := accessTime(d.path)
	if err != nil {
		return time.Now()
	}
	return t
}

// imageMeta is what the simulator remembers about the image a VM came from:
// the guest's OS, user, password and whether the guest agent is installed.
type imageMeta struct {
	Image    string `json:"image"`
	OS       string `json:"os"`
	User     string `json:"user"`
	Password string `json:"password"`
	Agent    bool   `json:"agent"`
}

func (d *vmDir) readImageMeta(osName string) imageMeta {
	m := imageMeta{OS: osName, User: "admin", Password: "admin", Agent: true}
	if b, err := os.ReadFile(d.imagePath()); err == nil {
		_ = json.Unmarshal(b, &m)
	}
	return m
}

func (d *vmDir) writeImageMeta(m imageMeta) error {
	b, _ := json.MarshalIndent(m, "", "  ")
	return os.WriteFile(d.imagePath(), b, 0o600)
}

// writeFiles creates config.json, a sparse disk.img of diskGB*10^9 bytes and nvram.bin.
func (d *vmDir) writeFiles(c *vmConfig, diskGB int) error {
	if err := os.MkdirAll(d.path, 0o755); err != nil {
		return err
	}
	if err := d.writeConfig(c); err != nil {
		return err
	}
	f, err := os.OpenFile(d.diskPath(), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if err := f.Truncate(int64(diskGB) * 1_000_000_000); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.WriteFile(d.nvramPath(), make([]byte, 128<<10), 0o644)
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

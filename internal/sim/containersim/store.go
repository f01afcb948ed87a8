package containersim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"golang.org/x/sys/unix"
)

// Layout of the app root (CONTAINER_APP_ROOT):
//
//	apiserver.json            present after `system start`
//	containers.lock           serialises create/delete and IP allocation
//	containers/<id>/          bundle: config.json options.json state.json
//	                          runtime.lock stdio.log vminitd.log runtime.log
//	                          rootfs/ runc/config.json
//	runc/                     runc --root
//	netns/<id>                the container's network namespace (bind mount)
//	images/                   image store (package imagestore)
//	sim-keychain.json         registry credentials (`registry login`)

func (e *env) containersDir() string   { return filepath.Join(e.root, "containers") }
func (e *env) bundle(id string) string { return filepath.Join(e.root, "containers", id) }
func (e *env) runcRoot() string        { return filepath.Join(e.root, "runc") }
func (e *env) netnsPath(id string) string {
	return filepath.Join(e.root, "netns", id)
}

var idPattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

func validID(id string) bool { return len(id) <= 63 && idPattern.MatchString(id) }

// flockFile opens (creating) path and applies how; the caller closes the file
// to release the lock.
func flockFile(path string, how int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// globalLock serialises operations that change the set of containers.
func (e *env) globalLock() (func(), error) {
	if err := os.MkdirAll(e.containersDir(), 0o755); err != nil {
		return nil, err
	}
	f, err := flockFile(filepath.Join(e.root, "containers.lock"), unix.LOCK_EX)
	if err != nil {
		return nil, err
	}
	return func() { f.Close() }, nil
}

// runtimeAlive probes the runtime's lock: a live runtime process holds it
// exclusively for its whole life.
func runtimeAlive(bundle string) bool {
	f, err := flockFile(filepath.Join(bundle, "runtime.lock"), unix.LOCK_SH|unix.LOCK_NB)
	if err != nil {
		return errors.Is(err, unix.EWOULDBLOCK)
	}
	f.Close()
	return false
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// writeJSONAtomic replaces path so readers never see a partial file.
func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.tmp%d", path, os.Getpid())
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// container is one bundle as loaded by a CLI command.
type container struct {
	ID     string
	Bundle string
	Config ContainerConfig
	Opts   simOptions
	Status runtimeStatus
	Alive  bool // runtime process holds the lock
}

// State is what list/inspect report.
func (c *container) State() string {
	if !c.Alive {
		return stateStopped
	}
	switch c.Status.State {
	case stateRunning, stateStopping:
		return c.Status.State
	case stateBooting:
		return stateStopped
	}
	return stateUnknown
}

var errNoContainer = errors.New("no such container")

func (e *env) load(id string) (*container, error) {
	if !validID(id) {
		return nil, errNoContainer
	}
	b := e.bundle(id)
	c := &container{ID: id, Bundle: b}
	if err := readJSON(filepath.Join(b, "config.json"), &c.Config); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errNoContainer
		}
		return nil, err
	}
	if err := readJSON(filepath.Join(b, "options.json"), &c.Opts); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	e.refresh(c)
	return c, nil
}

// refresh re-reads the runtime status and repairs the bundle of a runtime
// that died without cleaning up (crash): its VM died with it.
func (e *env) refresh(c *container) {
	_ = readJSON(filepath.Join(c.Bundle, "state.json"), &c.Status)
	c.Alive = runtimeAlive(c.Bundle)
	if !c.Alive && c.Status.State != "" && c.Status.State != stateStopped {
		e.reapCrashed(c)
		c.Status.State = stateStopped
		c.Status.InitPID, c.Status.RuntimePID = 0, 0
		_ = writeJSONAtomic(filepath.Join(c.Bundle, "state.json"), c.Status)
	}
}

// loadAll returns every container, sorted by creation date then ID.
func (e *env) loadAll() ([]*container, error) {
	ents, err := os.ReadDir(e.containersDir())
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []*container
	for _, d := range ents {
		if !d.IsDir() {
			continue
		}
		c, err := e.load(d.Name())
		if err != nil {
			continue // half-created or half-deleted bundle
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Config.CreationDate.Equal(out[j].Config.CreationDate) {
			return out[i].Config.CreationDate.Before(out[j].Config.CreationDate)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// allocateIP picks the lowest free address of the default subnet. Call it
// under globalLock: the addresses in use are those of existing bundles.
func (e *env) allocateIP() (netip.Addr, error) {
	used := map[netip.Addr]bool{}
	ents, err := os.ReadDir(e.containersDir())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return netip.Addr{}, err
	}
	// options.json, not config.json: a bundle being created has only that yet.
	for _, d := range ents {
		var o simOptions
		if readJSON(filepath.Join(e.containersDir(), d.Name(), "options.json"), &o) != nil {
			continue
		}
		if p, err := netip.ParsePrefix(o.IPv4); err == nil {
			used[p.Addr()] = true
		}
	}
	a := netip.MustParseAddr("192.168.64.2")
	for i := 0; i < 253; i++ {
		if !used[a] {
			return a, nil
		}
		a = a.Next()
	}
	return netip.Addr{}, failf("no free address left in %s", defaultSubnet)
}

// apiserverState is <app-root>/apiserver.json.
type apiserverState struct {
	StartedDate time.Time `json:"startedDate"`
	PID         int       `json:"pid"`
}

func (e *env) apiserverRunning() bool {
	if e.knobSet("CONTAINER_SIM_APISERVER_DOWN") {
		return false
	}
	_, err := os.Stat(filepath.Join(e.root, "apiserver.json"))
	return err == nil
}

func (e *env) checkAPIServer(m apiMode) error {
	if m == apiNone || e.apiserverRunning() {
		return nil
	}
	if m == apiList {
		return &apiserverDown{wrap: "failed to list containers"}
	}
	return &apiserverDown{}
}

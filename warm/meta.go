package warm

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Snapshot is the metadata of one complete snapshot (<Dir>/snapshots/<Name>.json).
// The file is written last in a build: no file, no snapshot.
type Snapshot struct {
	Name       string    `json:"name"`
	Slot       string    `json:"slot"`
	Key        string    `json:"key"`
	Image      string    `json:"image"`
	Digest     string    `json:"digest"`
	CPU        int       `json:"cpu"`
	MemoryMB   int       `json:"memoryMB"`
	DiskSizeGB int       `json:"diskSizeGB"`
	Shares     []string  `json:"shares"`
	WarmUp     bool      `json:"warmUp"`
	CostGB     int       `json:"costGB"` // counted against Options.BudgetGB
	BuiltAt    time.Time `json:"builtAt"`
	BuildTook  string    `json:"buildTook"`
	LastUsed   time.Time `json:"lastUsed"`
	Uses       int       `json:"uses"`
}

func (m *Manager) metaDir() string             { return filepath.Join(m.o.Dir, "snapshots") }
func (m *Manager) metaPath(name string) string { return filepath.Join(m.metaDir(), name+".json") }

// writeMeta replaces the metadata file atomically (temp file + rename).
func (m *Manager) writeMeta(s Snapshot) error {
	if err := os.MkdirAll(m.metaDir(), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(m.metaDir(), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), m.metaPath(s.Name)); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

func (m *Manager) readMeta(name string) (Snapshot, error) {
	var s Snapshot
	b, err := os.ReadFile(m.metaPath(name))
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("snapshot metadata %s: %w", m.metaPath(name), err)
	}
	return s, nil
}

// Snapshots lists the complete snapshots' metadata, sorted by name.
func (m *Manager) Snapshots() ([]Snapshot, error) {
	ents, err := os.ReadDir(m.metaDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Snapshot
	for _, e := range ents {
		n, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(n, ".") {
			continue
		}
		if s, err := m.readMeta(n); err == nil {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

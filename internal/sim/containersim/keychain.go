package containersim

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
)

// The simulated keychain: `registry login` stores credentials in
// <app-root>/sim-keychain.json (mode 0600) instead of the macOS keychain.
type keychain struct {
	Registries map[string]keychainEntry `json:"registries"`
}

type keychainEntry struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (e *env) keychainPath() string { return filepath.Join(e.root, "sim-keychain.json") }

func (e *env) readKeychain() (keychain, error) {
	k := keychain{Registries: map[string]keychainEntry{}}
	b, err := os.ReadFile(e.keychainPath())
	if errors.Is(err, os.ErrNotExist) {
		return k, nil
	}
	if err != nil {
		return k, err
	}
	if err := json.Unmarshal(b, &k); err != nil {
		return k, err
	}
	if k.Registries == nil {
		k.Registries = map[string]keychainEntry{}
	}
	return k, nil
}

func (e *env) writeKeychain(k keychain) error {
	if err := os.MkdirAll(e.root, 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(k, "", "  ")
	tmp := e.keychainPath() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, e.keychainPath())
}

// keychainHost is the name a registry is stored under: docker.io is
// registry-1.docker.io, as the real CLI stores it.
func keychainHost(server string) string {
	if server == "docker.io" || server == "index.docker.io" {
		return "registry-1.docker.io"
	}
	return server
}

func (k keychain) hosts() []string {
	var out []string
	for h := range k.Registries {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

package guestsim

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// sharedFilesDir is where shares appear when there is no mount namespace
// (not root, or Serve): $HOME/Shared Files/<name> -> host path. Read-only
// shares are NOT enforced in this mode.
const sharedFilesDir = "Shared Files"

func linkShares(cfg Config) error {
	if len(cfg.Shares) == 0 {
		return nil
	}
	dir := filepath.Join(cfg.HomeDir, sharedFilesDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("guestsim: creating %s: %w", dir, err)
	}
	for _, s := range cfg.Shares {
		link := filepath.Join(dir, s.Name)
		if err := os.Remove(link); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("guestsim: replacing share link %s: %w", link, err)
		}
		if err := os.Symlink(s.HostPath, link); err != nil {
			return fmt.Errorf("guestsim: linking share %q: %w", s.Name, err)
		}
	}
	return nil
}

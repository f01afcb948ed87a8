package guestsim

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// hostKeyFile is where a VM keeps its SSH host key, so the key (and a
// client's pin of it) survives restarts of the VM, as with a real disk image.
const hostKeyFile = "ssh_host_ed25519_key"

// loadOrCreateHostKey returns the VM's host key, creating it on first boot.
// With no VMDir the key is ephemeral. vmName only labels the key.
func loadOrCreateHostKey(vmDir, vmName string) (ssh.Signer, error) {
	if vmDir == "" {
		return newHostKey()
	}
	path := filepath.Join(vmDir, hostKeyFile)
	if b, err := os.ReadFile(path); err == nil {
		s, perr := ssh.ParsePrivateKey(b)
		if perr != nil {
			return nil, fmt.Errorf("guestsim: host key %s is corrupt (delete it to get a new one): %w", path, perr)
		}
		return s, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("guestsim: reading host key: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "tart-sim "+vmName)
	if err != nil {
		return nil, err
	}
	// Write-then-rename: a concurrent reader never sees half a key.
	tmp, err := os.CreateTemp(vmDir, hostKeyFile+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("guestsim: saving host key in VM dir: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(pem.EncodeToMemory(block)); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, err
	}
	return ssh.NewSignerFromKey(priv)
}

func newHostKey() (ssh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return ssh.NewSignerFromKey(priv)
}

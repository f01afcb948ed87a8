//go:build !linux

package guestsim

import (
	"errors"
	"syscall"
)

// ErrUnsupportedHost: the simulated guest needs Linux (namespaces,
// Pdeathsig); tart-sim only runs there.
var ErrUnsupportedHost = errors.New("guestsim: the simulated guest runs only on Linux hosts")

func spawnAttrs() (*syscall.SysProcAttr, bool, error) { return nil, false, ErrUnsupportedHost }

func enterGuestFS(cfg Config) (Config, error) { return cfg, ErrUnsupportedHost }

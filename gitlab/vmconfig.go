package gitlab

import (
	"context"
	"fmt"
	"strings"

	"github.com/tartanhq/tartan/tart"
)

// configureVM applies setOptions. When an `auto` share of the host is
// below what the image needs (a small host, many concurrent jobs), the
// image's own value is kept for that resource only, instead of failing the
// job: tart checks CPU before memory and names the one it refuses, so a
// CPU share below the minimum must not drop the memory share too.
func (st *Stage) configureVM(ctx context.Context) error {
	s := st.Settings
	o := st.setOptions()
	err := st.Tart.Set(ctx, st.VM, o)
	for range 2 {
		if err == nil || !strings.Contains(err.Error(), "LessThanMinimalResources") {
			break
		}
		msg := err.Error()
		cpu := s.CPU == "auto" && o.CPU != 0 && strings.Contains(msg, "CPU")
		mem := s.Memory == "auto" && o.MemoryMB != 0 && strings.Contains(msg, "memory")
		if !cpu && !mem {
			// Unrecognised wording: fall back on both auto values.
			cpu, mem = s.CPU == "auto" && o.CPU != 0, s.Memory == "auto" && o.MemoryMB != 0
			if !cpu && !mem {
				break
			}
		}
		if cpu {
			st.Log.Warnf("cpu = auto (%d CPU) is below the image's minimum on this host: keeping the image's CPU count", o.CPU)
			o.CPU = 0
		}
		if mem {
			st.Log.Warnf("memory = auto (%d MiB) is below the image's minimum on this host: keeping the image's memory", o.MemoryMB)
			o.MemoryMB = 0
		}
		err = st.Tart.Set(ctx, st.VM, o)
	}
	if err != nil {
		return fmt.Errorf("configuring VM %s: %w", st.VM, err)
	}
	return nil
}

// resource resolves a cpu/memory setting: "" = image default (0), auto =
// the host's total split by concurrency, else the number.
func resource(v string, hostTotal, concurrency int) int {
	switch v {
	case "":
		return 0
	case "auto":
		if hostTotal <= 0 {
			return 0
		}
		return max(1, hostTotal/max(1, concurrency))
	}
	var n int
	_, _ = fmt.Sscan(v, &n) // validated in Settings.validate
	return n
}

// runOptions builds `tart run` from the settings.
func (st *Stage) runOptions(mounts []Mount, logPath string) (tart.RunOptions, error) {
	s := st.Settings
	o := tart.RunOptions{
		NoGraphics: s.Headless || s.VNC,
		VNC:        s.VNC,
		Nested:     s.Nested,
		Dirs:       sharesOf(mounts),
		LogPath:    logPath,
		NoAudio:    true,
		// Boot can wait behind tart's global lock (clones of other jobs).
		StartTimeout: s.IPTimeout,
		// No settle wait: waitReady watches tart run from here on and
		// reports an early exit (VM limit included) with its log.
		StartSettle: -1,
	}
	var err error
	if o.Disks, err = parseDisks(s.Disks); err != nil {
		return o, err
	}
	if o.RootDisk, err = parseRootDiskOpts(s.RootDiskOpts); err != nil {
		return o, err
	}
	switch s.Network {
	case "softnet":
		o.Net = tart.Network{Mode: tart.NetSoftnet, SoftnetAllow: s.SoftnetAllow, SoftnetBlock: s.SoftnetBlock, SoftnetExpose: s.SoftnetExpose}
	case "bridged":
		o.Net = tart.Network{Mode: tart.NetBridged, Bridged: s.BridgedInterfaces}
	case "host":
		o.Net = tart.Network{Mode: tart.NetHost}
	}
	return o, nil
}

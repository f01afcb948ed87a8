package gitlab

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/tartanhq/tartan/tart"
)

var displayRE = regexp.MustCompile(`^[0-9]+x[0-9]+(pt|px)?$`)

// Volume is one extra share host:guest[:ro].
type Volume struct {
	Host, Guest string
	ReadOnly    bool
}

func parseVolumes(specs []string) ([]Volume, error) {
	out := make([]Volume, 0, len(specs))
	for _, spec := range specs {
		parts := strings.Split(spec, ":")
		v := Volume{}
		switch {
		case len(parts) == 2:
		case len(parts) == 3 && (parts[2] == "ro" || parts[2] == "rw"):
			v.ReadOnly = parts[2] == "ro"
		default:
			return nil, fmt.Errorf("%q: use host:guest or host:guest:ro", spec)
		}
		v.Host, v.Guest = parts[0], parts[1]
		if !filepath.IsAbs(v.Host) || !strings.HasPrefix(v.Guest, "/") {
			return nil, fmt.Errorf("%q: both paths must be absolute", spec)
		}
		out = append(out, v)
	}
	return out, nil
}

func parseDisks(specs []string) ([]tart.Disk, error) {
	out := make([]tart.Disk, 0, len(specs))
	for _, spec := range specs {
		path, opts, _ := strings.Cut(spec, ":")
		if strings.Contains(spec, "://") { // nbd URLs carry a colon of their own
			path, opts = spec, ""
			if i := strings.LastIndex(spec, ":"); i > strings.Index(spec, "://")+2 && !strings.Contains(spec[i:], "/") {
				path, opts = spec[:i], spec[i+1:]
			}
		}
		if path == "" {
			return nil, fmt.Errorf("%q: missing disk path", spec)
		}
		d := tart.Disk{Path: path}
		for _, o := range strings.Split(opts, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(o), "=")
			switch k {
			case "":
			case "ro":
				d.ReadOnly = true
			case "sync":
				d.Sync = v
			case "caching":
				d.Caching = v
			default:
				return nil, fmt.Errorf("%q: unknown option %q (use ro, sync=…, caching=…)", spec, k)
			}
		}
		out = append(out, d)
	}
	return out, nil
}

func parseRootDiskOpts(opts string) (tart.DiskOptions, error) {
	var d tart.DiskOptions
	for _, o := range strings.Split(opts, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(o), "=")
		switch k {
		case "":
		case "sync":
			d.Sync = v
		case "caching":
			d.Caching = v
		default:
			return d, fmt.Errorf("root_disk_opts: unknown option %q (use sync=…, caching=…)", k)
		}
	}
	return d, nil
}

// Mount is a host directory shared into the guest and mounted at Guest.
type Mount struct {
	Tag      string // virtiofs tag, unique per job so concurrent VMs never share a mount
	Host     string
	Guest    string
	ReadOnly bool
}

// mountsFor lists the job's shares: builds, cache, gitlab-runner binaries,
// extra volumes. Tags carry the job id (concurrent mounts of one tag fail
// with "Resource busy" in macOS guests).
func mountsFor(s *Settings, p jobPaths, jobID string, withRunnerCache bool) ([]Mount, error) {
	var out []Mount
	tag := func(what string) string { return "tartan." + what + "." + jobID }
	if p.HostBuilds != "" {
		out = append(out, Mount{Tag: tag("builds"), Host: p.HostBuilds, Guest: s.GuestBuildsDir})
	}
	if s.HostCacheDir != "" {
		out = append(out, Mount{Tag: tag("cache"), Host: s.HostCacheDir, Guest: s.GuestCacheDir})
	}
	if withRunnerCache {
		out = append(out, Mount{Tag: tag("runnerbin"), Host: s.GuestRunnerCache, Guest: guestRunnerMount(s), ReadOnly: true})
	}
	vols, err := parseVolumes(s.Volumes)
	if err != nil {
		return nil, err
	}
	for i, v := range vols {
		out = append(out, Mount{Tag: tag(fmt.Sprintf("vol%d", i)), Host: v.Host, Guest: v.Guest, ReadOnly: v.ReadOnly})
	}
	return out, nil
}

// guestRunnerMount is where the host's gitlab-runner cache appears in the
// guest: next to the builds dir (/var/tmp/tartan-runnerbin by default).
func guestRunnerMount(s *Settings) string {
	return path.Join(path.Dir(s.GuestBuildsDir), "tartan-runnerbin")
}

func sharesOf(ms []Mount) []tart.Share {
	out := make([]tart.Share, 0, len(ms))
	for _, m := range ms {
		out = append(out, tart.Share{Name: m.Tag, Path: m.Host, ReadOnly: m.ReadOnly, Tag: m.Tag})
	}
	return out
}

// mountScript makes every share appear at its exact guest path. A share
// tagged per job is mounted by tag (mount_virtiofs on macOS, mount -t
// virtiofs on Linux). Where the share is already visible under its name
// (tart's automount location, or the simulator), it is bind-mounted, or
// linked when bind mounts are not available. Both need root, hence sudo
// when the user is not root.
func mountScript(guestOS string, ms []Mount) string {
	if len(ms) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("set -e\nSUDO=; [ \"$(id -u)\" = 0 ] || SUDO='sudo -n'\n")
	b.WriteString(`share() { # tag byname guestpath ro
  if [ -d "$2" ]; then
    $SUDO mkdir -p "$3"
    if $SUDO mount --bind "$2" "$3" 2>/dev/null; then
      [ "$4" = rw ] || $SUDO mount -o remount,bind,ro "$3"
    else
      $SUDO rmdir "$3" && $SUDO ln -s "$2" "$3"
    fi
  elif [ "$(uname -s)" = Darwin ]; then
    $SUDO mkdir -p "$3"
    $SUDO mount_virtiofs "$1" "$3" # read-only shares are enforced by tart on the host side
  else
    $SUDO mkdir -p "$3"
    if [ "$4" = ro ]; then $SUDO mount -t virtiofs -o ro "$1" "$3"; else $SUDO mount -t virtiofs "$1" "$3"; fi
  fi
}
`)
	for _, m := range ms {
		ro := "rw"
		if m.ReadOnly {
			ro = "ro"
		}
		fmt.Fprintf(&b, "share %s %s %s %s\n", shellQuote(m.Tag), shellQuote(tart.GuestSharePath(guestOS, m.Tag)), shellQuote(m.Guest), ro)
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// guestShell is how scripts run in the guest: GitLab generates them for
// Name, Path interprets them, and when Login is set Path starts inside that
// login shell's environment (`zsh -l`: /etc/zprofile, ~/.zprofile).
type guestShell struct{ Name, Path, Login string }

// shellFor maps the shell setting to the name GitLab generates scripts for
// and the guest interpreter that runs them. zsh (the Python driver's
// default) cannot run GitLab's bash scripts faithfully (no word splitting,
// other `set` options) and GitLab has no zsh generator: it means bash
// scripts run by bash, started from a zsh login shell so the job sees the
// PATH and variables the zsh profile sets, as it did with that driver.
func shellFor(setting string) (shell guestShell, err error) {
	switch setting {
	case "", "bash":
		return guestShell{Name: "bash", Path: "/bin/bash"}, nil
	case "sh":
		return guestShell{Name: "sh", Path: "/bin/sh"}, nil
	case "zsh":
		return guestShell{Name: "bash", Path: "/bin/bash", Login: "/bin/zsh"}, nil
	}
	if !strings.HasPrefix(setting, "/") {
		return shell, fmt.Errorf("%q: use bash, sh, zsh or an absolute guest path to one of them", setting)
	}
	switch base := filepath.Base(setting); base {
	case "bash", "sh":
		return guestShell{Name: base, Path: setting}, nil
	case "zsh":
		return guestShell{Name: "bash", Path: "/bin/bash", Login: setting}, nil
	}
	return shell, fmt.Errorf("%q: the interpreter must be bash, sh or zsh (GitLab's PowerShell scripts are not supported in Tart guests)", setting)
}

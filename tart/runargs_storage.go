package tart

import (
	"path/filepath"
	"strconv"
	"strings"
)

// --dir shares and --disk / --root-disk-opts specs of `tart run`.

func isHTTPURL(p string) bool {
	return strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://")
}

// dirArgs renders --dir [name:]path[:ro][,tag=TAG] for every share.
func dirArgs(shares []Share) ([]string, error) {
	byTag := map[string][]Share{}
	names := map[string]bool{}
	var args []string
	for i, s := range shares {
		label := "share " + strconv.Itoa(i+1)
		if s.Name != "" {
			label = "share " + strconv.Quote(s.Name)
		}
		switch {
		case strings.ContainsAny(s.Name, ",:/"):
			return nil, usagef("%s: name must not contain ',', ':' or '/' (tart splits --dir on them)", label)
		case s.Name != "" && names[s.Name]:
			return nil, usagef("%s: duplicate share name; every share needs its own name", label)
		case s.Path == "":
			return nil, usagef("%s: path is empty; give an absolute host directory or an http(s) URL of a .tar.gz", label)
		case !isHTTPURL(s.Path) && !filepath.IsAbs(s.Path):
			return nil, usagef("%s: path %q is relative; give an absolute host directory", label, s.Path)
		case !isHTTPURL(s.Path) && strings.ContainsAny(s.Path, ":,"):
			return nil, usagef("%s: path %q contains ':' or ',' which tart cannot parse in --dir; use a path (or symlink) without them", label, s.Path)
		}
		if err := validateTag(label+" tag", s.Tag); err != nil {
			return nil, err
		}
		names[s.Name] = s.Name != ""
		tag := s.Tag
		if tag == "" {
			tag = defaultShareTag
		}
		byTag[tag] = append(byTag[tag], s)

		spec := s.Path
		if s.Name != "" {
			spec = s.Name + ":" + spec
		}
		var opts []string
		if s.ReadOnly {
			opts = append(opts, "ro")
		}
		if s.Tag != "" {
			opts = append(opts, "tag="+s.Tag)
		}
		if len(opts) > 0 {
			spec += ":" + strings.Join(opts, ",")
		}
		args = append(args, "--dir", spec)
	}
	for tag, group := range byTag {
		if len(group) < 2 {
			continue
		}
		for _, s := range group {
			if s.Name == "" {
				return nil, usagef("%d shares use tag %q: each of them needs a Name", len(group), tag)
			}
		}
	}
	return args, nil
}

func isNBD(p string) bool {
	for _, s := range []string{"nbd://", "nbds://", "nbd+unix://", "nbds+unix://"} {
		if strings.HasPrefix(p, s) {
			return true
		}
	}
	return false
}

// diskArgs renders --disk path[:ro,sync=..,caching=..].
func diskArgs(disks []Disk) ([]string, error) {
	var args []string
	for i, d := range disks {
		label := "disk " + strconv.Itoa(i+1)
		switch {
		case d.Path == "":
			return nil, usagef("%s: path is empty; give a disk image, block device, remote VM name or nbd:// URL", label)
		case strings.HasSuffix(d.Path, "-amd64.iso"):
			return nil, usagef("%s: %q is an amd64 ISO, which cannot boot on Apple Silicon; use an arm64 image", label, d.Path)
		case !isNBD(d.Path) && !IsRemoteName(d.Path) && strings.ContainsAny(d.Path, ":,"):
			return nil, usagef("%s: path %q contains ':' or ',' which tart cannot parse in --disk; use a path (or symlink) without them", label, d.Path)
		case !isNBD(d.Path) && !IsRemoteName(d.Path) && !filepath.IsAbs(d.Path):
			return nil, usagef("%s: path %q is relative; give an absolute path", label, d.Path)
		}
		blockLike := isNBD(d.Path) || strings.HasPrefix(d.Path, "/dev/")
		opts, err := diskOpts(label, d.Sync, d.Caching, d.ReadOnly, blockLike)
		if err != nil {
			return nil, err
		}
		spec := d.Path
		if opts != "" {
			spec += ":" + opts
		}
		args = append(args, "--disk", spec)
	}
	return args, nil
}

// diskOpts renders "ro,sync=..,caching=.." (empty when all default).
func diskOpts(label, sync, caching string, ro, blockLike bool) (string, error) {
	var opts []string
	if ro {
		opts = append(opts, "ro")
	}
	switch sync {
	case "":
	case SyncNone, SyncFull:
		opts = append(opts, "sync="+sync)
	case SyncFsync:
		if blockLike {
			return "", usagef("%s: sync=fsync is not available for block devices and NBD; use none or full", label)
		}
		opts = append(opts, "sync="+sync)
	default:
		return "", usagef("%s: sync mode %q is invalid; use none, fsync or full", label, sync)
	}
	switch caching {
	case "":
	case CachingAutomatic, CachingCached, CachingUncached:
		opts = append(opts, "caching="+caching)
	default:
		return "", usagef("%s: caching mode %q is invalid; use automatic, cached or uncached", label, caching)
	}
	return strings.Join(opts, ","), nil
}

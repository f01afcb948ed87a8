// Package ociimages builds small, real OCI images and archives for container-sim
// and for tests: a busybox image made from the host's statically linked
// /usr/bin/busybox, multi-platform indexes, OCI-layout and docker-save
// archives, and an in-process registry with basic auth and fault injection.
package ociimages

import (
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// DefaultBusyboxPath is where Debian's busybox-static installs its binary.
const DefaultBusyboxPath = "/usr/bin/busybox"

// DefaultPath is the PATH the image's config sets unless Env overrides it.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Epoch is the fixed timestamp of every file and of the config, so that
// the same options always give the same digests.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Applets get a /bin/<name> symlink to /bin/busybox. A fixed list (rather
// than `busybox --list`) keeps the image independent of the build host's
// busybox configuration beyond the binary itself.
var Applets = []string{
	"[", "ash", "awk", "base64", "basename", "cat", "chgrp", "chmod", "chown", "cp", "cut",
	"date", "dd", "df", "diff", "dirname", "du", "echo", "egrep", "env", "expr", "false",
	"fgrep", "find", "free", "grep", "gunzip", "gzip", "head", "hostname", "httpd", "id",
	"ip", "kill", "killall", "less", "ln", "ls", "md5sum", "mkdir", "mkfifo", "mktemp",
	"more", "mv", "nc", "netstat", "nproc", "nslookup", "pidof", "ping", "printf", "ps",
	"pwd", "readlink", "realpath", "rm", "rmdir", "sed", "seq", "setsid", "sh",
	"sha256sum", "sleep", "sort", "stat", "sync", "tac", "tail", "tar", "tee", "test",
	"timeout", "top", "touch", "tr", "true", "uname", "uniq", "usleep", "vi", "watch",
	"wc", "wget", "which", "whoami", "xargs", "yes",
}

// Passwd and Group are the image's /etc/passwd and /etc/group: root, an
// unprivileged "app" user (1000) and nobody.
const (
	Passwd = "root:x:0:0:root:/root:/bin/sh\n" +
		"app:x:1000:1000:app:/home/app:/bin/sh\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	Group = "root:x:0:\napp:x:1000:\nnogroup:x:65534:\n"
)

// BusyboxOptions shape one busybox image. The zero value gives the default
// image: Cmd ["sh"], PATH set, everything else empty.
type BusyboxOptions struct {
	// BusyboxPath is the statically linked busybox to embed ("" = /usr/bin/busybox).
	BusyboxPath string
	// OS and Architecture of the config ("" = linux / runtime.GOARCH). Another
	// architecture still embeds the host binary: it is a label for platform
	// selection tests, not a runnable foreign image.
	OS, Architecture, Variant string

	Entrypoint []string
	Cmd        []string // nil = ["sh"]; use []string{} for none
	Env        []string // nil = [DefaultPath]
	WorkingDir string
	User       string
	StopSignal string
	// ExposedPorts like "80/tcp", "53/udp".
	ExposedPorts []string
	Labels       map[string]string

	// Files are extra regular files (absolute path -> content, mode 0644,
	// 0755 if the path is under a bin directory) written in the second layer.
	Files map[string]string
	// Remove lists paths of the first layer that the second layer deletes
	// with OCI whiteouts (".wh.<name>"), e.g. "/etc/motd".
	Remove []string
	// Opaque lists directories of the first layer that the second layer
	// makes opaque (".wh..wh..opq"): their earlier content disappears.
	Opaque []string
}

// Busybox builds a two-layer OCI image: layer 1 holds /bin/busybox, the
// applet symlinks, /etc and the usual directories; layer 2 holds
// o.Files and the whiteouts for o.Remove / o.Opaque, plus /etc/tartan-image
// so that layer 2 is never empty.
func Busybox(o BusyboxOptions) (v1.Image, error) {
	bbPath := o.BusyboxPath
	if bbPath == "" {
		bbPath = DefaultBusyboxPath
	}
	base, err := baseLayer(bbPath)
	if err != nil {
		return nil, err
	}
	top, err := topLayer(o)
	if err != nil {
		return nil, err
	}

	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{
			Created: v1.Time{Time: Epoch}, CreatedBy: "tartan ociimages: busybox base", Comment: "busybox, applets, /etc"}},
		mutate.Addendum{Layer: top, MediaType: types.OCILayer, History: v1.History{
			Created: v1.Time{Time: Epoch}, CreatedBy: "tartan ociimages: files and whiteouts"}},
	)
	if err != nil {
		return nil, fmt.Errorf("ociimages: append layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: Epoch}
	cf.OS = "linux"
	if o.OS != "" {
		cf.OS = o.OS
	}
	cf.Architecture = runtime.GOARCH
	if o.Architecture != "" {
		cf.Architecture = o.Architecture
	}
	cf.Variant = o.Variant
	cf.Config = configOf(o)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("ociimages: config: %w", err)
	}
	return img, nil
}

// SeedImage is the simulator's default image (Busybox with zero options),
// built locally without any registry.
func SeedImage() (v1.Image, error) { return Busybox(BusyboxOptions{}) }

func configOf(o BusyboxOptions) v1.Config {
	c := v1.Config{
		Entrypoint: o.Entrypoint,
		Cmd:        o.Cmd,
		Env:        o.Env,
		WorkingDir: o.WorkingDir,
		User:       o.User,
		StopSignal: o.StopSignal,
	}
	if c.Cmd == nil {
		c.Cmd = []string{"sh"}
	}
	if c.Env == nil {
		c.Env = []string{DefaultPath}
	}
	if len(o.Labels) > 0 {
		c.Labels = maps.Clone(o.Labels)
	}
	if len(o.ExposedPorts) > 0 {
		c.ExposedPorts = map[string]struct{}{}
		for _, p := range o.ExposedPorts {
			c.ExposedPorts[p] = struct{}{}
		}
	}
	return c
}

func baseLayer(bbPath string) (v1.Layer, error) {
	st, err := os.Stat(bbPath)
	if err != nil {
		return nil, fmt.Errorf("ociimages: busybox binary: %w (install busybox-static or set BusyboxOptions.BusyboxPath)", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("ociimages: busybox binary %s is not a regular file", bbPath)
	}
	key := fmt.Sprintf("%s|%d|%d", bbPath, st.Size(), st.ModTime().UnixNano())
	return cachedLayer(key, func(w *tarWriter) error {
		bin, err := os.ReadFile(bbPath)
		if err != nil {
			return err
		}
		for _, d := range []string{"bin", "dev", "etc", "home", "proc", "root", "sbin", "sys", "usr", "usr/bin", "usr/sbin", "usr/local", "usr/local/bin", "var", "var/log", "var/run", "var/www"} {
			w.dir(d, 0o755, 0, 0)
		}
		w.dir("root", 0o700, 0, 0)
		w.dir("home/app", 0o755, 1000, 1000)
		w.dir("tmp", 0o1777, 0, 0)
		w.file("bin/busybox", bin, 0o755)
		for _, a := range Applets {
			w.symlink("bin/"+a, "busybox")
		}
		w.symlink("usr/bin/env", "/bin/busybox")
		w.hardlink("usr/bin/busybox", "bin/busybox")
		w.file("etc/passwd", []byte(Passwd), 0o644)
		w.file("etc/group", []byte(Group), 0o644)
		w.file("etc/hostname", []byte("busybox\n"), 0o644)
		w.file("etc/motd", []byte("tartan busybox image\n"), 0o644)
		w.dir("etc/skel", 0o755, 0, 0)
		w.file("etc/skel/.profile", []byte("export PS1='\\h:\\w\\$ '\n"), 0o644)
		return nil
	})
}

func topLayer(o BusyboxOptions) (v1.Layer, error) {
	w := newTarWriter()
	w.file("etc/tartan-image", []byte("busybox\n"), 0o644)
	seenDirs := map[string]bool{"etc": true}
	for _, p := range slices.Sorted(maps.Keys(o.Files)) {
		rel, err := relPath(p, "Files")
		if err != nil {
			return nil, err
		}
		w.parents(rel, seenDirs)
		mode := int64(0o644)
		if strings.Contains("/"+rel, "/bin/") {
			mode = 0o755
		}
		w.file(rel, []byte(o.Files[p]), mode)
	}
	for _, p := range o.Remove {
		rel, err := relPath(p, "Remove")
		if err != nil {
			return nil, err
		}
		w.parents(rel, seenDirs)
		dir, base := splitRel(rel)
		w.file(joinRel(dir, ".wh."+base), nil, 0o644)
	}
	for _, p := range o.Opaque {
		rel, err := relPath(p, "Opaque")
		if err != nil {
			return nil, err
		}
		if !seenDirs[rel] {
			w.parents(rel, seenDirs)
			w.dir(rel, 0o755, 0, 0)
			seenDirs[rel] = true
		}
		w.file(rel+"/.wh..wh..opq", nil, 0o644)
	}
	return w.layer()
}

func relPath(p, option string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("ociimages: BusyboxOptions.%s path %q must be absolute", option, p)
	}
	rel := strings.Trim(p, "/")
	if rel == "" || slices.Contains(strings.Split(rel, "/"), "..") {
		return "", fmt.Errorf("ociimages: BusyboxOptions.%s path %q must name a file below / without '..'", option, p)
	}
	return rel, nil
}

func splitRel(rel string) (dir, base string) {
	i := strings.LastIndex(rel, "/")
	if i < 0 {
		return "", rel
	}
	return rel[:i], rel[i+1:]
}

func joinRel(dir, base string) string {
	if dir == "" {
		return base
	}
	return dir + "/" + base
}

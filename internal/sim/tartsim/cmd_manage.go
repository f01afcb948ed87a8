package tartsim

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func uuid() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

// cmdClone: tart clone <source> <new-name> (§5.2).
func cmdClone(e *env, p *parsed) error {
	src, dstName := p.args[0], p.args[1]
	if !e.home.vm(dstName).safe() {
		return p.cmd.usageErr("<new-name> should be a local name")
	}
	if p.has("concurrency") && p.uint("concurrency", 4) < 1 {
		return p.cmd.usageErr("network concurrency cannot be less than 1")
	}
	var from *vmDir
	if rn, err := parseRemoteName(src); err == nil {
		if from = e.home.cachedDir(rn); from == nil {
			if from, err = e.pull(rn); err != nil {
				return err
			}
		}
		now := time.Now() // opening an OCI cache entry bumps its access date
		_ = os.Chtimes(from.path, now, now)
	} else {
		from = e.home.vm(src)
		if err := from.open(); err != nil {
			return err
		}
	}
	if e.knobSet("TART_SIM_DISK_FULL") {
		return failf("%s", diskFullText)
	}
	// Auto-prune: a fresh clone of a sparse disk needs up to its apparent size.
	apparent, allocated := from.sizes()
	e.reclaimIfNeeded(min(apparent-allocated, int64(p.uint("prune-limit", 100))*1_000_000_000), from.path)
	gl, err := e.home.globalLock()
	if err != nil {
		return failf("%v", err)
	}
	defer gl.unlock()
	te, err := e.home.newTmpDir(uuid())
	if err != nil {
		return failf("%v", err)
	}
	defer te.release()
	tmp := &vmDir{name: dstName, path: te.path}
	for _, f := range []string{"config.json", "disk.img", "nvram.bin", "state.vzvmsave", "sim-image.json"} {
		if err := copySparse(filepath.Join(from.path, f), filepath.Join(tmp.path, f)); err != nil && !isNotExist(err) {
			return failf("%v", err)
		}
	}
	if err := copyTree(from.guestHome(), tmp.guestHome()); err != nil {
		return failf("%v", err)
	}
	// Regenerate the MAC iff another local VM already uses it and the source is not suspended.
	c, err := tmp.readConfig()
	if err != nil {
		return err
	}
	if _, err := os.Stat(from.statePath()); err != nil && e.home.macInUse(c.MACAddress, "") {
		c.MACAddress = randomMAC()
		if err := tmp.writeConfig(c); err != nil {
			return failf("%v", err)
		}
	}
	dst := e.home.vm(dstName)
	if err := os.RemoveAll(dst.path); err != nil {
		return failf("%v", err)
	}
	if err := os.Rename(tmp.path, dst.path); err != nil {
		return failf("%v", err)
	}
	now := time.Now()
	_ = os.Chtimes(dst.path, now, now)
	return nil
}

// macInUse reports whether a local VM other than except has this MAC.
func (h *home) macInUse(mac, except string) bool {
	ents, _ := os.ReadDir(h.vmsDir())
	for _, ent := range ents {
		if ent.Name() == except {
			continue
		}
		if c, err := h.vm(ent.Name()).readConfig(); err == nil && strings.EqualFold(c.MACAddress, mac) {
			return true
		}
	}
	return false
}

// copySparse copies a file, keeping holes (disk images are mostly holes).
func copySparse(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	if err := out.Truncate(st.Size()); err != nil {
		out.Close()
		return err
	}
	if err := copyData(in, out, st.Size()); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyData copies the data regions of in (found with SEEK_DATA/SEEK_HOLE).
func copyData(in, out *os.File, size int64) error {
	var off int64
	for off < size {
		start, err := in.Seek(off, seekDataWhence)
		if err != nil {
			if errors.Is(err, syscall.ENXIO) { // only holes remain
				return nil
			}
			// Filesystem without SEEK_DATA: never write the holes out (a
			// 50 GB image would fill the disk); copy only non-zero blocks.
			return copyNonZero(in, out, off, size)
		}
		end, err := in.Seek(start, seekHoleWhence)
		if err != nil {
			return err
		}
		if _, err := in.Seek(start, io.SeekStart); err != nil {
			return err
		}
		if _, err := out.Seek(start, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.CopyN(out, in, end-start); err != nil {
			return err
		}
		off = end
	}
	return nil
}

func copyNonZero(in, out *os.File, off, size int64) error {
	buf := make([]byte, 1<<20)
	for off < size {
		n, err := in.ReadAt(buf, off)
		if n > 0 && !allZero(buf[:n]) {
			if _, werr := out.WriteAt(buf[:n], off); werr != nil {
				return werr
			}
		}
		off += int64(n)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func copyTree(src, dst string) error {
	if _, err := os.Lstat(src); err != nil {
		return nil
	}
	return filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			l, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		case info.IsDir():
			return os.MkdirAll(target, info.Mode().Perm())
		case info.Mode().IsRegular():
			return copySparse(path, target)
		}
		return nil
	})
}

// cmdCreate: tart create <name> --linux | --from-ipsw <path> (§5.1). The
// simulator creates the VM directly (no IPSW download or OS install).
func cmdCreate(e *env, p *parsed) error {
	linux := p.flag("linux")
	if !linux && !p.has("from-ipsw") {
		return p.cmd.usageErr("Please specify either a --from-ipsw or --linux option!")
	}
	if p.str("disk-format", "raw") == "asif" {
		return p.cmd.usageErr("Disk format 'asif' is not supported on this system.")
	}
	if !e.home.vm(p.args[0]).safe() {
		return failf("tart-sim: %q is not a usable VM name: use a plain name without \"/\"", p.args[0])
	}
	img := image{Name: "", OS: "darwin"}
	if linux {
		img.OS = "linux"
	}
	img.applyDefaults()
	img.DiskGB = int(p.uint("disk-size", 50))
	if !linux {
		fmt.Fprintln(e.stdout, "Installing OS...")
	}
	te, err := e.home.newTmpDir(uuid())
	if err != nil {
		return failf("%v", err)
	}
	defer te.release()
	tmp := &vmDir{name: p.args[0], path: te.path}
	if err := tmp.writeFiles(newConfig(&img), img.DiskGB); err != nil {
		return failf("%v", err)
	}
	// A freshly installed OS has no guest agent.
	m := img.meta()
	m.Agent = false
	if err := tmp.writeImageMeta(m); err != nil {
		return failf("%v", err)
	}
	dst := e.home.vm(p.args[0])
	_ = os.RemoveAll(dst.path)
	if err := os.Rename(tmp.path, dst.path); err != nil {
		return failf("%v", err)
	}
	return nil
}

// cmdRename: tart rename <name> <new-name> (§5.13); every failure is exit 64 with the root usage.
func cmdRename(e *env, p *parsed) error {
	name, newName := p.args[0], p.args[1]
	if !e.home.vm(newName).safe() {
		return rootUsageErr("<new-name> should be a local name")
	}
	if !e.home.vm(name).initialized() {
		return rootUsageErr("failed to rename a non-existent local VM: " + name)
	}
	if e.home.vm(newName).exists() {
		return rootUsageErr(fmt.Sprintf("failed to rename VM %s, target VM %s already exists, delete it first!", name, newName))
	}
	if err := os.Rename(e.home.vm(name).path, e.home.vm(newName).path); err != nil {
		return failf("%v", err)
	}
	return nil
}

// cmdDelete: tart delete <name>... in order, stopping at the first error (§5.14).
func cmdDelete(e *env, p *parsed) error {
	for _, name := range p.args {
		if rn, err := parseRemoteName(name); err == nil {
			if err := e.home.deleteOCI(rn, name); err != nil {
				return err
			}
			continue
		}
		d := e.home.vm(name)
		if !d.exists() {
			return vmDoesNotExist(name)
		}
		if d.lockPID() != 0 {
			return vmIsRunning(name)
		}
		if err := os.RemoveAll(d.path); err != nil {
			return failf("%v", err)
		}
	}
	return nil
}

// deleteOCI removes a tag link or a digest directory, then GCs the cache.
func (h *home) deleteOCI(rn remoteName, name string) error {
	var target string
	if rn.digest != "" {
		target = h.ociDigestDir(rn, rn.digest).path
	} else {
		target = h.ociTagPath(rn)
	}
	if _, err := os.Lstat(target); err != nil {
		return vmDoesNotExist(name)
	}
	if err := os.RemoveAll(target); err != nil {
		return failf("%v", err)
	}
	h.gcOCI()
	return nil
}

// gcOCI removes broken tag links and digest dirs nothing links to (unless explicitly pulled).
func (h *home) gcOCI() {
	linked := map[string]bool{}
	var digests []string
	_ = filepath.Walk(h.ociDir(), func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if info.Mode()&os.ModeSymlink != 0 {
			t, err := filepath.EvalSymlinks(path)
			if err != nil {
				_ = os.Remove(path)
				return nil
			}
			linked[t] = true
			return nil
		}
		if info.IsDir() && strings.HasPrefix(info.Name(), "sha256:") {
			digests = append(digests, path)
			return filepath.SkipDir
		}
		return nil
	})
	for _, d := range digests {
		real, _ := filepath.EvalSymlinks(d)
		if linked[real] || linked[d] {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, ".explicitly-pulled")); err == nil {
			continue
		}
		_ = os.RemoveAll(d)
	}
}

// cmdLogin: tart login <host> (§5.11). The simulator validates the flags and stores nothing.
func cmdLogin(e *env, p *parsed) error {
	if p.has("username") != p.flag("password-stdin") {
		return p.cmd.usageErr("both --username and --password-stdin are required")
	}
	if !p.has("username") {
		return failf(`CredentialRequired(which: "username")`)
	}
	_, _ = io.ReadAll(e.stdin)
	return nil
}

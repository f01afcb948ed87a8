package imagestore

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// applyLayer extracts one layer over root with OCI whiteout semantics:
// ".wh.<name>" deletes <name> from lower layers, ".wh..wh..opq" hides
// everything lower layers put in its directory. Entry names that climb out
// of root are refused; symlinks met in parent directories are resolved as
// if root were "/", so they cannot lead outside either.
func applyLayer(root string, l v1.Layer) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	written := map[string]bool{} // paths this layer created (opaque whiteouts keep them)
	type dirTime struct {
		path string
		t    time.Time
	}
	var dirTimes []dirTime
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		rel, err := cleanEntry(hdr.Name)
		if err != nil {
			return err
		}
		if rel == "." {
			continue
		}
		dir, base := path.Split(rel)
		dir = strings.TrimSuffix(dir, "/")
		parent, err := resolveIn(root, dir)
		if err != nil {
			return err
		}
		if base == whiteoutOpaque {
			if err := opaque(parent, dir, written); err != nil {
				return err
			}
			continue
		}
		if strings.HasPrefix(base, whiteoutPrefix) {
			if err := os.RemoveAll(filepath.Join(parent, strings.TrimPrefix(base, whiteoutPrefix))); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return err
		}
		dst := filepath.Join(parent, base)
		written[rel] = true
		if err := applyEntry(root, dst, hdr, tr); err != nil {
			return fmt.Errorf("%s: %w", hdr.Name, err)
		}
		if hdr.Typeflag == tar.TypeDir {
			dirTimes = append(dirTimes, dirTime{dst, hdr.ModTime})
		}
	}
	for i := len(dirTimes) - 1; i >= 0; i-- {
		_ = os.Chtimes(dirTimes[i].path, dirTimes[i].t, dirTimes[i].t)
	}
	return nil
}

// cleanEntry turns a tar name into a clean relative path, refusing names
// that climb above the root ("../x", "a/../../x").
func cleanEntry(name string) (string, error) {
	rel := path.Clean(strings.TrimLeft(name, "/"))
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%w: %q escapes the rootfs", ErrUnsafePath, name)
	}
	if rel == "" {
		rel = "."
	}
	return rel, nil
}

// resolveIn maps rel (clean, relative) to a host path under root,
// following symlinks of existing components as if root were "/" (".." and
// absolute targets are clamped at root).
func resolveIn(root, rel string) (string, error) {
	var resolved []string
	pending := splitPath(rel)
	for hops := 0; len(pending) > 0; {
		p := pending[0]
		pending = pending[1:]
		switch p {
		case "", ".":
			continue
		case "..":
			if len(resolved) > 0 {
				resolved = resolved[:len(resolved)-1]
			}
			continue
		}
		candidate := filepath.Join(root, filepath.Join(resolved...), p)
		fi, err := os.Lstat(candidate)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			resolved = append(resolved, p)
			continue
		}
		if hops++; hops > 255 {
			return "", fmt.Errorf("%w: too many symlinks resolving %q", ErrUnsafePath, rel)
		}
		target, err := os.Readlink(candidate)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			resolved = resolved[:0]
		}
		pending = append(splitPath(target), pending...)
	}
	return filepath.Join(append([]string{root}, resolved...)...), nil
}

func splitPath(p string) []string { return strings.Split(p, "/") }

// opaque removes what lower layers left in dir (host path parent), keeping
// entries this layer already wrote.
func opaque(parent, relDir string, written map[string]bool) error {
	entries, err := os.ReadDir(parent)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if written[path.Join(relDir, e.Name())] {
			continue
		}
		if err := os.RemoveAll(filepath.Join(parent, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func applyEntry(root, dst string, hdr *tar.Header, r io.Reader) error {
	mode := hdr.FileInfo().Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
	existing, statErr := os.Lstat(dst)
	exists := statErr == nil
	if exists && (hdr.Typeflag != tar.TypeDir || !existing.IsDir()) {
		if err := os.RemoveAll(dst); err != nil {
			return err
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if !exists || !existing.IsDir() {
			if err := os.Mkdir(dst, 0o700); err != nil {
				return err
			}
		}
	case tar.TypeReg: // archive/tar reports old "\x00" entries as TypeReg
		f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := os.Symlink(hdr.Linkname, dst); err != nil {
			return err
		}
		return chown(dst, hdr)
	case tar.TypeLink:
		target, err := cleanEntry(hdr.Linkname)
		if err != nil {
			return err
		}
		tdir, tbase := path.Split(target)
		tparent, err := resolveIn(root, strings.TrimSuffix(tdir, "/"))
		if err != nil {
			return err
		}
		return os.Link(filepath.Join(tparent, tbase), dst)
	case tar.TypeFifo:
		if err := unix.Mkfifo(dst, uint32(mode.Perm())); err != nil {
			return err
		}
	case tar.TypeChar, tar.TypeBlock:
		if err := mknod(dst, hdr); err != nil {
			return nil // devices come from the runtime's /dev; skip when not allowed
		}
	default:
		return nil // PAX globals, GNU sparse etc.: nothing to create
	}
	if err := chown(dst, hdr); err != nil {
		return err
	}
	if err := os.Chmod(dst, mode); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeDir {
		return os.Chtimes(dst, hdr.ModTime, hdr.ModTime)
	}
	return nil
}

func chown(p string, hdr *tar.Header) error {
	err := os.Lchown(p, hdr.Uid, hdr.Gid)
	if err != nil && os.Geteuid() != 0 && errors.Is(err, os.ErrPermission) {
		return nil // unprivileged unpack: keep our own uid
	}
	return err
}

func mknod(p string, hdr *tar.Header) error {
	kind := uint32(unix.S_IFCHR)
	if hdr.Typeflag == tar.TypeBlock {
		kind = unix.S_IFBLK
	}
	return unix.Mknod(p, kind|uint32(hdr.Mode&0o7777), int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))))
}

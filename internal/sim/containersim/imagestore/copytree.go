package imagestore

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// copyTree copies src to dst (which must not exist) like `cp -a`: modes
// including setuid/sticky, owners, mtimes, symlinks as symlinks, hardlinks
// within src as hardlinks, FIFOs and device nodes. Regular files are copied
// with io.Copy, which uses copy_file_range on Linux (a reflink on
// filesystems that support it).
func copyTree(src, dst string) error {
	type inode struct{ dev, ino uint64 }
	links := map[inode]string{}
	type dirMeta struct {
		path  string
		mode  os.FileMode
		mtime time.Time
	}
	var dirs []dirMeta
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("copy %s: no stat information", p)
		}
		mode := fi.Mode()
		perm := mode & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
		switch {
		case mode.IsDir():
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
			dirs = append(dirs, dirMeta{target, perm, fi.ModTime()})
		case mode&os.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(l, target); err != nil {
				return err
			}
			return lchownStat(target, st)
		case mode.IsRegular():
			key := inode{uint64(st.Dev), uint64(st.Ino)} //nolint:unconvert // Dev is int32 on darwin
			if st.Nlink > 1 {
				if first, ok := links[key]; ok {
					return os.Link(first, target)
				}
				links[key] = target
			}
			if err := copyFile(p, target); err != nil {
				return err
			}
		case mode&os.ModeNamedPipe != 0:
			if err := unix.Mkfifo(target, uint32(perm.Perm())); err != nil {
				return err
			}
		case mode&os.ModeDevice != 0:
			if err := unix.Mknod(target, uint32(st.Mode), int(st.Rdev)); err != nil { //nolint:unconvert // types differ per OS
				return nil // not permitted: skip, as applyLayer does
			}
		default:
			return nil // sockets: nothing to copy
		}
		if err := lchownStat(target, st); err != nil {
			return err
		}
		if mode.IsDir() {
			return nil
		}
		if err := os.Chmod(target, perm); err != nil {
			return err
		}
		return os.Chtimes(target, fi.ModTime(), fi.ModTime())
	})
	if err != nil {
		return err
	}
	// Directory modes and times last: children changed their mtime, and a
	// read-only directory would have refused them.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chmod(dirs[i].path, dirs[i].mode); err != nil {
			return err
		}
		if err := os.Chtimes(dirs[i].path, dirs[i].mtime, dirs[i].mtime); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

func lchownStat(p string, st *syscall.Stat_t) error {
	err := os.Lchown(p, int(st.Uid), int(st.Gid))
	if err != nil && os.Geteuid() != 0 {
		return nil
	}
	return err
}

package containersim

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// resolveUser turns "name|uid[:group|gid]" into numeric ids using the
// container's /etc/passwd and /etc/group (as the VM's init does).
func resolveUser(rootfs, user string) (uint32, uint32, []uint32, error) {
	var groups []uint32
	if user == "" {
		user = "0"
	}
	name, group, hasGroup := strings.Cut(user, ":")
	uid, gid, found := 0, 0, false
	if n, e := strconv.ParseUint(name, 10, 32); e == nil {
		uid, found = int(n), true
		if pw, ok := lookupPasswd(rootfs, func(f []string) bool { return f[2] == name }); ok {
			gid, _ = strconv.Atoi(pw[3])
		}
	} else if pw, ok := lookupPasswd(rootfs, func(f []string) bool { return f[0] == name }); ok {
		uid, _ = strconv.Atoi(pw[2])
		gid, _ = strconv.Atoi(pw[3])
		found = true
	}
	if !found {
		return 0, 0, nil, failf("unable to find user %s: no matching entries in passwd file", name)
	}
	if hasGroup {
		if n, e := strconv.ParseUint(group, 10, 32); e == nil {
			gid = int(n)
		} else if gr, ok := lookupGroup(rootfs, func(f []string) bool { return f[0] == group }); ok {
			gid, _ = strconv.Atoi(gr[2])
		} else {
			return 0, 0, nil, failf("unable to find group %s: no matching entries in group file", group)
		}
	}
	// Supplementary groups: every group listing the user by name.
	userName := name
	if pw, ok := lookupPasswd(rootfs, func(f []string) bool { return f[2] == strconv.Itoa(uid) }); ok {
		userName = pw[0]
	}
	forEachLine(filepath.Join(rootfs, "etc", "group"), 4, func(f []string) bool {
		for _, m := range strings.Split(f[3], ",") {
			if m == userName {
				if g, e := strconv.Atoi(f[2]); e == nil && g != gid {
					groups = append(groups, uint32(g))
				}
			}
		}
		return false
	})
	return uint32(uid), uint32(gid), groups, nil
}

func lookupPasswd(rootfs string, match func([]string) bool) ([]string, bool) {
	return forEachLine(filepath.Join(rootfs, "etc", "passwd"), 7, match)
}

func lookupGroup(rootfs string, match func([]string) bool) ([]string, bool) {
	return forEachLine(filepath.Join(rootfs, "etc", "group"), 4, match)
}

func forEachLine(path string, fields int, match func([]string) bool) ([]string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), ":")
		if len(parts) < fields {
			continue
		}
		if match(parts) {
			return parts, true
		}
	}
	return nil, false
}

// userString is the user of a ProcessUser for resolution.
func (u ProcessUser) userString() string {
	if u.Raw != nil {
		return u.Raw.UserString
	}
	if u.ID != nil {
		return strconv.Itoa(int(u.ID.UID)) + ":" + strconv.Itoa(int(u.ID.GID))
	}
	return "0"
}

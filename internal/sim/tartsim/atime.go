package tartsim

import (
	"time"

	"golang.org/x/sys/unix"
)

func accessTime(path string) (time.Time, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return time.Time{}, err
	}
	return time.Unix(st.Atim.Unix()), nil
}

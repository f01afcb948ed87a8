package cliproc

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// LookupError says where a binary was looked for and, for an explicit path,
// why it was refused. Clients convert it to their own typed error.
type LookupError struct {
	Name     string   // the binary's name ("tart", "container")
	Searched []string // "$PATH" and the fallback paths tried, or the explicit path
	Reason   string   // extra detail for an explicit path (e.g. "not executable")
}

func (e *LookupError) Error() string {
	msg := e.Name + " binary not found (searched: " + strings.Join(e.Searched, ", ") + ")"
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// FindBinary returns explicit when it is an executable file. With explicit
// empty it looks name up on $PATH, then tries fallbacks in order (a process
// started by launchd has a bare PATH). The error is nil or a *LookupError.
func FindBinary(explicit, name string, fallbacks []string) (string, *LookupError) {
	if explicit != "" {
		if err := CheckExecutable(explicit); err != nil {
			return "", &LookupError{Name: name, Searched: []string{explicit}, Reason: err.Error()}
		}
		return explicit, nil
	}
	searched := []string{"$PATH"}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, p := range fallbacks {
		searched = append(searched, p)
		if CheckExecutable(p) == nil {
			return p, nil
		}
	}
	return "", &LookupError{Name: name, Searched: searched}
}

// CheckExecutable returns nil when p is a file with an execute bit set.
func CheckExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory", p)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not executable", p)
	}
	return nil
}

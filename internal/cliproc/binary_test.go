package cliproc

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/shoenig/test/must"
)

func writeFile(t *testing.T, dir, name string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	must.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), mode))
	return p
}

func TestFindBinaryExplicit(t *testing.T) {
	dir := t.TempDir()
	exe := writeFile(t, dir, "cli", 0o755)
	plain := writeFile(t, dir, "plain", 0o644)

	got, lerr := FindBinary(exe, "cli", nil)
	must.Nil(t, lerr)
	must.Eq(t, exe, got)

	for path, reason := range map[string]string{
		plain:                        plain + " is not executable",
		dir:                          dir + " is a directory",
		filepath.Join(dir, "absent"): "no such file or directory",
	} {
		_, lerr := FindBinary(path, "cli", nil)
		must.NotNil(t, lerr)
		must.Eq(t, []string{path}, lerr.Searched)
		must.StrContains(t, lerr.Reason, reason)
		must.StrContains(t, lerr.Error(), "cli binary not found (searched: "+path+"): ")
	}
}

func TestFindBinaryPathThenFallbacks(t *testing.T) {
	onPath, elsewhere := t.TempDir(), t.TempDir()
	t.Setenv("PATH", onPath)
	fallback := writeFile(t, elsewhere, "cli", 0o755)
	notExec := writeFile(t, elsewhere, "cli-plain", 0o644)

	got, lerr := FindBinary("", "cli", []string{filepath.Join(elsewhere, "absent"), notExec, fallback})
	must.Nil(t, lerr)
	must.Eq(t, fallback, got)

	onPathBin := writeFile(t, onPath, "cli", 0o755)
	got, lerr = FindBinary("", "cli", []string{fallback})
	must.Nil(t, lerr)
	must.Eq(t, onPathBin, got)

	_, lerr = FindBinary("", "other", []string{notExec})
	must.NotNil(t, lerr)
	must.Eq(t, []string{"$PATH", notExec}, lerr.Searched)
	must.Eq(t, "", lerr.Reason)
	must.Eq(t, "other binary not found (searched: $PATH, "+notExec+")", lerr.Error())
}

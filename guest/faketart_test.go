package guest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/shoenig/test/must"

	"github.com/tartanhq/tartan/tart"
)

// fakeTart returns a client for a stand-in tart: a sh script that answers
// --version as tart 2.30.0 and runs body for every other command ("$@" is
// tart's argv). $TARTAN_FAKE_DIR is a directory private to the test.
func fakeTart(t *testing.T, body string) (*tart.Client, string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "tart")
	script := "#!/bin/sh\nTARTAN_FAKE_DIR='" + dir + "'\n[ \"$1\" = --version ] && { echo 2.30.0; exit 0; }\n" + body + "\n"
	must.NoError(t, os.WriteFile(bin, []byte(script), 0o755))
	c, err := tart.New(tart.Options{Binary: bin, Home: dir})
	must.NoError(t, err)
	return c, dir
}

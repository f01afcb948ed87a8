package tartdevice

import (
	"os"
	"testing"

	"github.com/tartanhq/tartan/internal/testenv"
)

// TestMain removes the tart-sim build and every temp file the tests' tart
// runs write (their logs default to TMPDIR).
func TestMain(m *testing.M) {
	restoreTmp := testenv.PrivateTempDir()
	code := m.Run()
	testenv.Cleanup()
	restoreTmp()
	os.Exit(code)
}

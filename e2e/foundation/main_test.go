package foundation

import (
	"os"
	"testing"

	"github.com/tartanhq/tartan/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.Cleanup()
	os.Exit(code)
}

package slots

import (
	"os"
	"testing"
)

// The test binary doubles as the child process of the handoff and
// multi-process tests (see helpers_test.go).
func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	os.Exit(m.Run())
}

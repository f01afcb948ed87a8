package warm_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tartanhq/tartan/internal/testenv"
)

func TestMain(m *testing.M) {
	if os.Getenv(builderEnv) != "" {
		os.Exit(runBuilder())
	}
	code := m.Run()
	// No tart-sim process (tart run, guest) started here may survive.
	deadline := time.Now().Add(10 * time.Second)
	for len(simProcesses()) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if left := simProcesses(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "leaked tart-sim processes: %v\n", left)
		code = max(code, 1)
	}
	testenv.Cleanup()
	os.Exit(code)
}

var simBin string

func simProcesses() []string {
	if simBin == "" {
		return nil
	}
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || exe != simBin {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if strings.Contains(string(stat), ") Z ") {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out = append(out, e.Name()+":"+strings.ReplaceAll(string(cmd), "\x00", " "))
	}
	return out
}

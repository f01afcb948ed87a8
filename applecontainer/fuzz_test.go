package applecontainer

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: no CLI output, however mangled, panics the parsers.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`[{"id":"x","status":{"state":"running","startedDate":1e300}}]`))
	f.Add([]byte(`[{"id":"x","configuration":{"publishedPorts":[{"count":99999999}]}}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseContainers(b)
		_, _ = ParseStats(b)
		_, _ = ParseImages(b)
		_, _ = ParseNetworks(b)
		_, _ = ParseSystemStatus(b)
		_, _ = ParseSystemVersion(b)
		_ = ParseSystemStatusText(string(b))
		_, _ = ParseVersion(string(b))
		_ = classify(1, string(b))
		_ = RedactArgs([]string{"run", string(b), "x"})
	})
}

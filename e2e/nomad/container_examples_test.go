package nomade2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tartanhq/tartan/internal/testenv"
)

// httpGet polls url until it answers 200 with a body containing want.
func httpGet(t *testing.T, url, want string) string {
	t.Helper()
	var body string
	if !poll(60*time.Second, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == 200 && strings.Contains(body, want)
	}) {
		t.Fatalf("%s never answered with %q (last body %q)", url, want, body)
	}
	return body
}

// TestContainerE2E_Examples runs the documented service examples as they
// are and checks what they promise: the web page on the published port,
// the sidecar serving the app's metrics from /alloc.
func TestContainerE2E_Examples(t *testing.T) {
	a := devAgent(t)
	for _, c := range []struct {
		file, job, label, want string
	}{
		{"container-web.nomad.hcl", "web", "http", "<h1>Hello from allocation "},
		{"container-sidecar.nomad.hcl", "sidecar", "metrics", "app_requests_total "},
	} {
		t.Run(c.job, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "examples", "nomad", c.file))
			must(t, err)
			a.runJob(string(b))
			al := a.waitAlloc(c.job, 90*time.Second, "running")
			port := 0
			for _, p := range al.AllocatedResources.Shared.Ports {
				if p.Label == c.label {
					port = p.Value
				}
			}
			if port == 0 {
				t.Fatalf("no %s port: %+v", c.label, al.AllocatedResources.Shared)
			}
			httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port), c.want)
			stopJob(t, a, c.job)
			waitNoContainers(t, a, c.job)
		})
	}
}

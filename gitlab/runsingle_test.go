package gitlab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeGitLab is the smallest stand-in of GitLab's job API that
// `gitlab-runner run-single` needs (protocol a.10): it hands out one job,
// collects the trace and the final state.
type fakeGitLab struct {
	mu       sync.Mutex
	job      map[string]any
	given    bool
	trace    strings.Builder
	state    string
	exitCode int
	done     chan struct{}
	once     sync.Once
}

func (g *fakeGitLab) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/v4/jobs/request":
		if g.given {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		g.given = true
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(g.job)
	case r.Method == http.MethodPatch && strings.HasSuffix(r.URL.Path, "/trace"):
		b, _ := io.ReadAll(r.Body)
		g.trace.Write(b)
		w.Header().Set("Job-Status", "running")
		w.Header().Set("Range", fmt.Sprintf("0-%d", g.trace.Len()))
		w.WriteHeader(http.StatusAccepted)
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/api/v4/jobs/"):
		var body struct {
			State    string `json:"state"`
			ExitCode int    `json:"exit_code"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		g.state, g.exitCode = body.State, body.ExitCode
		if body.State == "success" || body.State == "failed" {
			g.once.Do(func() { close(g.done) })
		}
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func gitlabJob(id int64, image, serverURL string, script []string) map[string]any {
	vars := []map[string]any{
		{"key": "CI_JOB_ID", "value": strconv.FormatInt(id, 10), "public": true},
		{"key": "CI_JOB_IMAGE", "value": image, "public": true},
		{"key": "CI_PROJECT_PATH", "value": "group/project", "public": true},
		{"key": "CI_SERVER_URL", "value": serverURL, "public": true},
		{"key": "GIT_STRATEGY", "value": "none", "public": true},
	}
	return map[string]any{
		"id": id, "token": "job-token-" + strconv.FormatInt(id, 10), "allow_git_fetch": false,
		"job_info":    map[string]any{"name": "e2e", "stage": "test", "project_id": 42, "project_name": "project"},
		"git_info":    map[string]any{"repo_url": serverURL + "/group/project.git", "ref": "main", "sha": strings.Repeat("a", 40), "before_sha": strings.Repeat("0", 40), "ref_type": "branch", "refspecs": []string{}, "depth": 1},
		"runner_info": map[string]any{"timeout": 600},
		"variables":   vars,
		"steps": []map[string]any{
			{"name": "script", "script": script, "timeout": 600, "when": "on_success", "allow_failure": false},
		},
		"image":    map[string]any{"name": image},
		"features": map[string]any{"trace_sections": true},
	}
}

// TestRealGitLabRunner drives the executor with a real gitlab-runner
// (`run-single` against a local stand-in of the job API), when one is
// available: set GITLAB_RUNNER_BINARY.
func TestRealGitLabRunner(t *testing.T) {
	bin := os.Getenv("GITLAB_RUNNER_BINARY")
	if bin == "" {
		t.Skip("set GITLAB_RUNNER_BINARY to a gitlab-runner binary to run this end-to-end test")
	}
	t.Parallel()
	h := newSimHost(t)
	settings := h.settings()
	id := jobIDs.Add(1)
	g := &fakeGitLab{done: make(chan struct{})}
	srv := httptest.NewServer(g)
	defer srv.Close()
	g.job = gitlabJob(id, macImage, srv.URL, []string{`echo "real runner says $((40+2))"`, "exit 3"})

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := []string{"run-single", "-u", srv.URL, "-t", "glrt-e2e-token", "--executor", "custom",
		"--builds-dir", "/var/tmp/builds", "--cache-dir", "/var/tmp/cache", "--max-builds", "1", "--wait-timeout", "60"}
	for _, stage := range []string{"config", "prepare", "run", "cleanup"} {
		args = append(args, "--custom-"+stage+"-exec", h.executor,
			"--custom-"+stage+"-args", stage, "--custom-"+stage+"-args", "--config", "--custom-"+stage+"-args", settings)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = h.env
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	select {
	case <-g.done:
	default:
		t.Fatalf("gitlab-runner ended without a final job state: %v\n%s", err, out)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	trace := g.trace.String()
	if g.state != "failed" || g.exitCode != 3 {
		t.Errorf("final state %s exit %d, want failed with exit code 3; trace:\n%s\nrunner output:\n%s", g.state, g.exitCode, trace, out)
	}
	mustContain(t, trace, "Using Custom executor with driver tartan", "real runner says 42")
}

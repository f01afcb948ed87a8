package gitlab_test

import (
	"testing"
)

func TestScenarioPassingJob(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	r := h.runner(h.settings())
	job := newJob("echo hello from $(uname -s)", `echo "shell is $BASH_VERSION"`)
	job.AfterScript = []string{"echo after $CI_JOB_STATUS"}
	res := h.run(r, job)
	if res.Status != "success" {
		t.Fatalf("status %s (%s), log:\n%s\nrunner log:\n%s", res.Status, res.FailureReason, res.Log, res.RunnerLog)
	}
	mustContain(t, res.Log, "Using Custom executor with driver tartan", "hello from", "shell is 5", "after success", "Running on ")
	if res.PrepareAttempts != 1 {
		t.Errorf("prepare attempts %d", res.PrepareAttempts)
	}
	t.Logf("log:\n%s\nrunner log:\n%s", res.Log, res.RunnerLog)
}

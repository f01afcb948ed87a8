package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// execute runs prepare (with retries) and the sub-stages, setting the
// result's status.
func (jr *run) execute(ctx context.Context) {
	res := jr.res
	if !jr.prepare(ctx) {
		return
	}
	seq := []struct {
		name string
		body []string
		when bool
	}{
		{"prepare_script", []string{`echo "Running on $(hostname) via ` + jr.hostname() + `..."`}, true},
		{"get_sources", jr.getSources(), true},
		{"build_script", jr.buildScript(), true},
	}
	failed := false
	for _, st := range seq {
		fail := jr.runStage(ctx, st.name, st.body)
		if fail != nil {
			failed = true
			jr.fail(ctx, fail)
			break
		}
	}
	status := "success"
	if failed {
		status = "failed"
		if ctx.Err() != nil && context.Cause(ctx) == errCanceled {
			status = "canceled"
		}
	}
	// after_script, artifacts and cleanup_file_variables run even after a
	// cancel, with their own contexts.
	if len(jr.job.AfterScript) > 0 {
		actx, cancel := context.WithTimeout(context.Background(), orDefault(jr.r.AfterScriptTimeout, 5*time.Minute))
		jr.log.printf("Running after_script")
		_ = jr.runStageEnv(actx, "after_script", jr.afterScript(), map[string]string{"CI_JOB_STATUS": status})
		cancel()
	}
	if len(jr.job.ArtifactPaths) > 0 {
		name := "upload_artifacts_on_success"
		if failed {
			name = "upload_artifacts_on_failure"
		}
		_ = jr.runStage(context.Background(), name, jr.uploadArtifacts())
	}
	_ = jr.runStage(context.Background(), "cleanup_file_variables", []string{`rm -rf "$CI_BUILDS_DIR/tmp-file-vars-$CI_JOB_ID" 2>/dev/null || true`})
	if !failed {
		res.Status = "success"
		jr.log.printf("Job succeeded")
	}
}

// stageFailure classifies a failed executor call.
type stageFailure struct {
	reason   string // script_failure, runner_system_failure, unknown_failure
	exitCode int
}

func (jr *run) fail(ctx context.Context, f *stageFailure) {
	res := jr.res
	res.Status, res.FailureReason, res.ExitCode = "failed", f.reason, f.exitCode
	switch context.Cause(ctx) {
	case errCanceled:
		res.Status, res.FailureReason = "canceled", ""
		jr.log.printf("ERROR: Job failed: canceled")
		return
	case errJobTimeout:
		res.FailureReason = "job_execution_timeout"
		jr.log.printf("ERROR: Job failed: execution took longer than %s seconds", strconv.Itoa(int(jr.job.Timeout.Seconds())))
		return
	}
	if f.reason == "script_failure" {
		jr.log.printf("ERROR: Job failed: exit code %d", f.exitCode)
	} else {
		jr.log.printf("ERROR: Job failed (system failure): %s", f.reason)
	}
}

// prepare runs config + prepare, retried like executor.Prepare.
func (jr *run) prepare(ctx context.Context) bool {
	r, res := jr.r, jr.res
	attempts := r.PrepareAttempts
	if attempts <= 0 {
		attempts = 3
	}
	jr.log.printf("Preparing the \"custom\" executor")
	for attempt := 1; attempt <= attempts; attempt++ {
		res.PrepareAttempts = attempt
		f := jr.configAndPrepare(ctx)
		if f == nil {
			return true
		}
		if f.reason == "script_failure" || ctx.Err() != nil || attempt == attempts {
			jr.fail(ctx, f)
			return false
		}
		jr.log.printf("WARNING: Preparation failed: %s", f.reason)
		jr.log.printf("Will be retried in %s ...", orDefault(r.PrepareRetryDelay, 3*time.Second))
		jr.cleanup()
		t := time.NewTimer(orDefault(r.PrepareRetryDelay, 3*time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			jr.fail(ctx, f)
			return false
		case <-t.C:
		}
	}
	return false
}

func (jr *run) configAndPrepare(ctx context.Context) *stageFailure {
	r := jr.r
	var stdout bytes.Buffer
	o := jr.exec(ctx, "config", r.ConfigArgs, orDefault(r.ConfigExecTimeout, time.Hour), &stdout, jr.log, nil)
	if f := jr.classify(o); f != nil {
		return f
	}
	jr.config = map[string]any{}
	jr.jobEnv = map[string]string{}
	if out := bytes.TrimSpace(stdout.Bytes()); len(out) > 0 {
		if err := json.Unmarshal(out, &jr.config); err != nil {
			return &stageFailure{reason: "error while parsing JSON output: " + err.Error()}
		}
	}
	if je, ok := jr.config["job_env"].(map[string]any); ok {
		for k, v := range je {
			jr.jobEnv[k] = fmt.Sprint(v)
		}
	}
	if d, ok := jr.config["driver"].(map[string]any); ok {
		jr.log.printf("Using Custom executor with driver %v %v...", d["name"], d["version"])
	}
	o = jr.exec(ctx, "prepare", r.PrepareArgs, orDefault(r.PrepareExecTimeout, time.Hour), jr.log, jr.log, nil)
	return jr.classify(o)
}

// classify maps an executor exit to the runner's interpretation (a.8).
func (jr *run) classify(o outcome) *stageFailure {
	switch {
	case o.StartErr != nil:
		return &stageFailure{reason: "unknown_failure: " + o.StartErr.Error(), exitCode: -1}
	case o.Code == 0:
		return nil
	case o.Code == BuildFailureExitCode:
		code := BuildFailureExitCode
		if b, err := os.ReadFile(jr.exitCodeFile()); err == nil {
			first, _, _ := strings.Cut(string(b), "\n")
			n, err := strconv.Atoi(strings.TrimSpace(first))
			if err != nil {
				return &stageFailure{reason: "unknown_failure: invalid build exit code " + first, exitCode: SystemFailureExitCode}
			}
			code = n
		}
		return &stageFailure{reason: "script_failure", exitCode: code}
	case o.Code == SystemFailureExitCode:
		return &stageFailure{reason: "runner_system_failure", exitCode: o.Code}
	default:
		return &stageFailure{reason: fmt.Sprintf("unknown_failure: unknown Custom executor executable exit code %d", o.Code), exitCode: o.Code}
	}
}

// shell is the shell scripts are generated for: config_exec's "shell",
// else the runner's.
func (jr *run) shell() string {
	if s, ok := jr.config["shell"].(string); ok && s != "" {
		return s
	}
	if jr.r.Shell != "" {
		return jr.r.Shell
	}
	return "bash"
}

func (jr *run) exitCodeFile() string { return filepath.Join(jr.tmp, "build_exit_code") }

// exec runs one executor process and records it.
func (jr *run) exec(ctx context.Context, stage string, args []string, timeout time.Duration, stdout, stderr io.Writer, extraEnv map[string]string) outcome {
	argv := append([]string{jr.r.Executor}, args...)
	_ = os.Remove(jr.exitCodeFile())
	if jr.r.BeforeStart != nil {
		jr.r.BeforeStart(stage)
	}
	var started func(int)
	if jr.r.OnStart != nil {
		started = func(pid int) { jr.r.OnStart(stage, pid) }
	}
	o := jr.r.runProcess(ctx, argv, jr.environ(extraEnv), jr.tmp, timeout, stdout, stderr, started)
	jr.mu.Lock()
	jr.res.Stages = append(jr.res.Stages, StageRun{Stage: stage, ExitCode: o.Code, Signaled: o.Signaled, Abandoned: o.Abandoned, PID: o.PID, Duration: o.Duration})
	jr.mu.Unlock()
	return o
}

// runStage writes a script file and calls run_exec for one sub-stage.
func (jr *run) runStage(ctx context.Context, name string, body []string) *stageFailure {
	return jr.runStageEnv(ctx, name, body, nil)
}

func (jr *run) runStageEnv(ctx context.Context, name string, body []string, extra map[string]string) *stageFailure {
	jr.scriptN++
	dir := filepath.Join(jr.tmp, fmt.Sprintf("script%03d", jr.scriptN))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return &stageFailure{reason: "runner_system_failure: " + err.Error()}
	}
	path := filepath.Join(dir, "script")
	vars := jr.jobVariables()
	for k, v := range extra {
		vars[k] = v
	}
	script := bashScript(sortedVars(vars), body)
	if jr.shell() == "sh" {
		script = shScript(sortedVars(vars), body)
	}
	if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
		return &stageFailure{reason: "runner_system_failure: " + err.Error()}
	}
	args := append(append([]string{}, jr.r.RunArgs...), path, name)
	o := jr.exec(ctx, "run:"+name, args, 0, jr.log, jr.log, extra)
	return jr.classify(o)
}

// cleanup calls cleanup_exec with a fresh, bounded context; its output
// goes to the runner's log, not the job log.
func (jr *run) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), orDefault(jr.r.CleanupExecTimeout, time.Hour))
	defer cancel()
	jr.exec(ctx, "cleanup", jr.r.CleanupArgs, 0, &jr.runnerLog, &jr.runnerLog, nil)
}

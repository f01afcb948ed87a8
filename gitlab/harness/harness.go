// Package harness drives a custom executor exactly as gitlab-runner does
// (docs: gitlab-custom-executor.md section a): one process per stage in
// its own process group, a per-job TMPDIR, the runner's environment
// (CUSTOM_ENV_*, BUILD_FAILURE_EXIT_CODE, SYSTEM_FAILURE_EXIT_CODE,
// BUILD_EXIT_CODE_FILE, JOB_RESPONSE_FILE, job_env), script files shaped
// like the runner's bash scripts, the sub-stage sequence, prepare retries
// with cleanup in between, and SIGTERM then SIGKILL on cancel or timeout.
package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Runner is the gitlab-runner side: the [runners.custom] section.
type Runner struct {
	Executor    string   // the executor binary
	ConfigArgs  []string // e.g. {"config", "--config", "/etc/tartan/gitlab.toml"}
	PrepareArgs []string
	RunArgs     []string
	CleanupArgs []string
	// Env is the runner process's environment (nil = os.Environ()).
	Env []string

	ConfigExecTimeout   time.Duration // default 3600 s
	PrepareExecTimeout  time.Duration // default 3600 s
	CleanupExecTimeout  time.Duration // default 3600 s
	GracefulKillTimeout time.Duration // default 600 s
	ForceKillTimeout    time.Duration // default 10 s
	PrepareRetryDelay   time.Duration // default 3 s between prepare attempts
	PrepareAttempts     int           // default 3
	AfterScriptTimeout  time.Duration // default 5 min

	// TempRoot holds the per-job temp dirs ("" = os.TempDir()).
	TempRoot string
	// Builds and cache dirs of [[runners]] (overridable by config_exec).
	BuildsDir, CacheDir string
	Shell               string // default "bash"

	// OnStart, if set, is called with each executor process as it starts
	// (tests use it to find processes left behind by a killed runner).
	OnStart func(stage string, pid int)
	// BeforeStart, if set, is called before each executor process starts
	// (tests inject faults between stages with it).
	BeforeStart func(stage string)
}

// The runner's fixed exit codes (given to the executor in the environment).
const (
	BuildFailureExitCode  = 1
	SystemFailureExitCode = 2
)

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func (r *Runner) gracefulKill() time.Duration {
	return orDefault(r.GracefulKillTimeout, 600*time.Second)
}
func (r *Runner) forceKill() time.Duration { return orDefault(r.ForceKillTimeout, 10*time.Second) }

// Job is one job as GitLab sends it.
type Job struct {
	ID          int64
	Name        string
	Image       string            // `image:` (CUSTOM_ENV_CI_JOB_IMAGE)
	Variables   map[string]string // job variables (CUSTOM_ENV_<KEY>)
	Script      []string
	AfterScript []string
	// ArtifactPaths adds the upload_artifacts_on_* stage (needs
	// gitlab-runner in the guest, as in the real runner).
	ArtifactPaths []string

	ProjectPath         string // "group/project"
	ProjectID           int
	ConcurrentID        int
	ConcurrentProjectID int
	RunnerID            int
	RunnerShortToken    string
	RunnerVersion       string
	ServerURL           string

	// Timeout is the job timeout: SIGTERM to the current script stage.
	Timeout time.Duration
	// Cancel cancels the job (the UI's cancel button) when closed.
	Cancel <-chan struct{}
	// CancelWhenLog cancels the job once the job log contains this text.
	CancelWhenLog string
	// Log receives the job log live (optional).
	Log io.Writer
}

// StageRun records one executor process.
type StageRun struct {
	Stage     string // config, prepare, run:<sub-stage>, cleanup
	ExitCode  int
	Signaled  bool
	Abandoned bool
	PID       int
	Duration  time.Duration
}

// Result is how the job ended.
type Result struct {
	Status          string // success, failed, canceled
	FailureReason   string // script_failure, runner_system_failure, job_execution_timeout, unknown_failure
	ExitCode        int    // the script's exit code the runner reports (BUILD_EXIT_CODE_FILE)
	Log             string // the job log
	RunnerLog       string // cleanup_exec output (runner log, not the job log)
	Stages          []StageRun
	PrepareAttempts int
	Config          map[string]any // config_exec's JSON
	Duration        time.Duration
	TempDir         string // removed after cleanup, like the runner does
}

// Stage returns the records of one stage name.
func (r *Result) Stage(name string) []StageRun {
	var out []StageRun
	for _, s := range r.Stages {
		if s.Stage == name {
			out = append(out, s)
		}
	}
	return out
}

// jobLog is the job's trace: safe for concurrent writes, watched for the
// cancel marker.
type jobLog struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	tee    io.Writer
	marker string
	hit    chan struct{}
	once   sync.Once
}

func (l *jobLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if l.tee != nil {
		_, _ = l.tee.Write(p)
	}
	if l.marker != "" && bytes.Contains(l.buf.Bytes(), []byte(l.marker)) {
		l.once.Do(func() { close(l.hit) })
	}
	return len(p), nil
}

func (l *jobLog) printf(format string, a ...any) {
	_, _ = fmt.Fprintf(l, format+"\n", a...)
}

func (l *jobLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// run is the state of one job while it runs.
type run struct {
	r         *Runner
	job       Job
	tmp       string
	log       *jobLog
	runnerLog bytes.Buffer
	res       *Result
	jobEnv    map[string]string
	config    map[string]any
	scriptN   int
	token     string
	mu        sync.Mutex
}

// Run executes the job and returns its result. ctx bounds the whole run
// (its end is treated like the runner shutting down: the current stage is
// killed, cleanup still runs).
func (r *Runner) Run(ctx context.Context, job Job) (*Result, error) {
	job = job.withDefaults()
	start := time.Now()
	root := r.TempRoot
	if root == "" {
		root = os.TempDir()
	}
	tmp, err := os.MkdirTemp(root, "custom-executor")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	jr := &run{r: r, job: job, tmp: tmp, res: &Result{TempDir: tmp}, token: randomToken()}
	jr.log = &jobLog{tee: job.Log, marker: job.CancelWhenLog, hit: make(chan struct{})}
	if err := jr.writeResponseFile(); err != nil {
		return nil, err
	}

	// The job context: cancel, CancelWhenLog and the job timeout end it.
	jobCtx, cancelJob := context.WithCancelCause(ctx)
	defer cancelJob(nil)
	if job.Timeout > 0 {
		t := time.AfterFunc(job.Timeout, func() { cancelJob(errJobTimeout) })
		defer t.Stop()
	}
	go func() {
		select {
		case <-job.Cancel:
			cancelJob(errCanceled)
		case <-jr.log.hit:
			cancelJob(errCanceled)
		case <-jobCtx.Done():
		}
	}()

	jr.log.printf("Running with gitlab-runner %s (harness)", job.RunnerVersion)
	jr.execute(jobCtx)
	jr.cleanup()
	jr.res.Log = jr.log.String()
	jr.res.RunnerLog = jr.runnerLog.String()
	jr.res.Config = jr.config
	jr.res.Duration = time.Since(start)
	return jr.res, nil
}

var (
	errCanceled   = fmt.Errorf("canceled")
	errJobTimeout = fmt.Errorf("job timeout")
)

func randomToken() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "glcbt-" + hex.EncodeToString(b[:])
}

func (j Job) withDefaults() Job {
	if j.ID == 0 {
		j.ID = 1
	}
	if j.Name == "" {
		j.Name = "test"
	}
	if j.ProjectPath == "" {
		j.ProjectPath = "group/project"
	}
	if j.ProjectID == 0 {
		j.ProjectID = 42
	}
	if j.RunnerID == 0 {
		j.RunnerID = 7
	}
	if j.RunnerShortToken == "" {
		j.RunnerShortToken = "t3stR0nr"
	}
	if j.RunnerVersion == "" {
		j.RunnerVersion = "17.9.0"
	}
	if j.ServerURL == "" {
		j.ServerURL = "https://gitlab.example.com"
	}
	return j
}

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

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
	"fmt"
	"io"
	"os"
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

package gitlab

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// VMPrefix starts the name of every VM this executor creates; the sweeper
// only ever touches VMs with this prefix.
const VMPrefix = "tartan-gl-"

// Job is what a stage knows about the job, read from the runner's
// environment (CUSTOM_ENV_* for job variables).
type Job struct {
	ID                  string
	Image               string
	ServerURL           string
	RunnerShortToken    string
	RunnerID            string
	RunnerVersion       string
	ConcurrentID        string
	ConcurrentProjectID string
	ProjectID           string
	Status              string // CI_JOB_STATUS (after_script)

	// Var looks up a job variable without the CUSTOM_ENV_ prefix.
	Var func(name string) (string, bool)

	BuildFailureExitCode  int
	SystemFailureExitCode int
	BuildExitCodeFile     string
}

// JobFromEnv reads the job from lookup (os.LookupEnv in the binary).
func JobFromEnv(lookup func(string) (string, bool)) (*Job, error) {
	v := func(name string) (string, bool) { return lookup("CUSTOM_ENV_" + name) }
	get := func(name string) string { s, _ := v(name); return s }
	j := &Job{
		ID:                  get("CI_JOB_ID"),
		Image:               get("CI_JOB_IMAGE"),
		ServerURL:           get("CI_SERVER_URL"),
		RunnerShortToken:    get("CI_RUNNER_SHORT_TOKEN"),
		RunnerID:            get("CI_RUNNER_ID"),
		RunnerVersion:       get("CI_RUNNER_VERSION"),
		ConcurrentID:        get("CI_CONCURRENT_ID"),
		ConcurrentProjectID: get("CI_CONCURRENT_PROJECT_ID"),
		ProjectID:           get("CI_PROJECT_ID"),
		Status:              get("CI_JOB_STATUS"),
		Var:                 v,
	}
	var err error
	if j.BuildFailureExitCode, err = exitCodeVar(lookup, "BUILD_FAILURE_EXIT_CODE", 1); err != nil {
		return j, err
	}
	if j.SystemFailureExitCode, err = exitCodeVar(lookup, "SYSTEM_FAILURE_EXIT_CODE", 2); err != nil {
		return j, err
	}
	j.BuildExitCodeFile, _ = lookup("BUILD_EXIT_CODE_FILE")
	if j.ID == "" {
		return j, fmt.Errorf("CUSTOM_ENV_CI_JOB_ID is not set: this binary is meant to be started by gitlab-runner's custom executor (config_exec, prepare_exec, run_exec, cleanup_exec)")
	}
	if _, err := strconv.ParseUint(j.ID, 10, 64); err != nil {
		return j, fmt.Errorf("CUSTOM_ENV_CI_JOB_ID %q is not a job number", j.ID)
	}
	if path, ok := lookup("JOB_RESPONSE_FILE"); ok && path != "" {
		if err := j.trustResponse(path); err != nil {
			return j, err
		}
	}
	return j, nil
}

// trustResponse takes the job id and the GitLab instance from the job
// payload GitLab sent (JOB_RESPONSE_FILE), which job variables cannot
// change: the VM name is built from them, and prepare replaces a VM of the
// same name, so a job must not be able to name another job's VM.
func (j *Job) trustResponse(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		// Older runners (< 14.1) have no payload file: keep the variables.
		return nil
	}
	var resp struct {
		ID      json.Number `json:"id"`
		GitInfo struct {
			RepoURL string `json:"repo_url"`
		} `json:"git_info"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		return fmt.Errorf("JOB_RESPONSE_FILE %s is not the job payload: %v", path, err)
	}
	if id := resp.ID.String(); id != "" {
		if id != j.ID {
			return fmt.Errorf("job variable CI_JOB_ID=%s contradicts the job payload (id %s): a job may not override CI_JOB_ID", j.ID, id)
		}
	}
	if u, err := url.Parse(resp.GitInfo.RepoURL); err == nil && u.Host != "" {
		j.ServerURL = u.Scheme + "://" + u.Host
	}
	return nil
}

// exitCodeVar reads an exit code the runner gives in the environment. The
// fallback (the runner's current values) only applies when the runner is too
// old to set it.
func exitCodeVar(lookup func(string) (string, bool), name string, fallback int) (int, error) {
	s, ok := lookup(name)
	if !ok || s == "" {
		return fallback, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 {
		return fallback, fmt.Errorf("%s=%q is not an exit code", name, s)
	}
	return n, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9]+`)

// VMName is the job's VM: deterministic (every stage derives it again) and
// unique per GitLab instance, runner and job, so two runners or two GitLab
// instances on one host never clash: tartan-gl-<instance>-<runner>-<job>.
func VMName(j *Job) string {
	runner := j.RunnerShortToken
	if runner == "" && j.RunnerID != "" {
		runner = "r" + j.RunnerID
	}
	if runner == "" {
		runner = "local"
	}
	runner = strings.ToLower(unsafeName.ReplaceAllString(runner, ""))
	if len(runner) > 16 {
		runner = runner[:16]
	}
	return VMPrefix + instanceID(j.ServerURL) + "-" + runner + "-" + j.ID
}

// instanceID is a short stable digest of the GitLab URL.
func instanceID(serverURL string) string {
	sum := sha256.Sum256([]byte(strings.TrimRight(strings.ToLower(serverURL), "/")))
	return hex.EncodeToString(sum[:])[:6]
}

// osLookup is os.LookupEnv, named for readability at call sites.
var osLookup = os.LookupEnv

package harness

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// builds returns the builds dir in effect (config_exec may override it).
func (jr *run) builds() string {
	if s, ok := jr.config["builds_dir"].(string); ok && s != "" {
		return s
	}
	if jr.r.BuildsDir != "" {
		return jr.r.BuildsDir
	}
	return "/var/tmp/builds"
}

func (jr *run) hostname() string {
	if s, ok := jr.config["hostname"].(string); ok {
		return s
	}
	return "runner"
}

// projectDir follows a.4: with builds_dir_is_shared the path carries the
// runner's short token and the concurrent project id.
func (jr *run) projectDir() string {
	if shared, _ := jr.config["builds_dir_is_shared"].(bool); shared {
		return path.Join(jr.builds(), jr.job.RunnerShortToken, strconv.Itoa(jr.job.ConcurrentProjectID), jr.job.ProjectPath)
	}
	return path.Join(jr.builds(), jr.job.ProjectPath)
}

// jobVariables are the job's variables as the runner defines them
// (predefined CI_* plus the job's own).
func (jr *run) jobVariables() map[string]string {
	j := jr.job
	host := strings.TrimPrefix(strings.TrimPrefix(j.ServerURL, "https://"), "http://")
	ns, name := path.Split(j.ProjectPath)
	v := map[string]string{
		"CI":                       "true",
		"GITLAB_CI":                "true",
		"CI_JOB_ID":                strconv.FormatInt(j.ID, 10),
		"CI_JOB_NAME":              j.Name,
		"CI_JOB_STAGE":             "test",
		"CI_JOB_TOKEN":             jr.token,
		"CI_JOB_STATUS":            "running",
		"CI_PIPELINE_ID":           "1000",
		"CI_PROJECT_ID":            strconv.Itoa(j.ProjectID),
		"CI_PROJECT_PATH":          j.ProjectPath,
		"CI_PROJECT_NAMESPACE":     strings.TrimSuffix(ns, "/"),
		"CI_PROJECT_NAME":          name,
		"CI_PROJECT_DIR":           jr.projectDir(),
		"CI_BUILDS_DIR":            jr.builds(),
		"CI_SERVER_URL":            j.ServerURL,
		"CI_SERVER_HOST":           host,
		"CI_RUNNER_ID":             strconv.Itoa(j.RunnerID),
		"CI_RUNNER_SHORT_TOKEN":    j.RunnerShortToken,
		"CI_RUNNER_VERSION":        j.RunnerVersion,
		"CI_CONCURRENT_ID":         strconv.Itoa(j.ConcurrentID),
		"CI_CONCURRENT_PROJECT_ID": strconv.Itoa(j.ConcurrentProjectID),
		"GIT_STRATEGY":             "none",
	}
	if j.Image != "" {
		v["CI_JOB_IMAGE"] = j.Image
	}
	for k, val := range j.Variables {
		v[k] = val
	}
	return v
}

// environ is the environment of an executor process (a.3): the runner's
// own, then the runner's variables, job_env, and CUSTOM_ENV_* last.
func (jr *run) environ(extra map[string]string) []string {
	base := jr.r.Env
	if base == nil {
		base = os.Environ()
	}
	env := append([]string{}, base...)
	env = append(env,
		"TMPDIR="+jr.tmp,
		"BUILD_FAILURE_EXIT_CODE="+strconv.Itoa(BuildFailureExitCode),
		"SYSTEM_FAILURE_EXIT_CODE="+strconv.Itoa(SystemFailureExitCode),
		"BUILD_EXIT_CODE_FILE="+jr.exitCodeFile(),
		"JOB_RESPONSE_FILE="+filepath.Join(jr.tmp, "response.json"),
	)
	keys := make([]string, 0, len(jr.jobEnv))
	for k := range jr.jobEnv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+jr.jobEnv[k])
	}
	vars := jr.jobVariables()
	for k, v := range extra {
		vars[k] = v
	}
	for _, v := range sortedVars(vars) {
		env = append(env, "CUSTOM_ENV_"+v.Key+"="+v.Value)
	}
	return env
}

// writeResponseFile writes the job payload as GitLab sends it.
func (jr *run) writeResponseFile() error {
	j := jr.job
	type kv struct {
		Key    string `json:"key"`
		Value  string `json:"value"`
		Public bool   `json:"public"`
		Masked bool   `json:"masked"`
	}
	var vars []kv
	for _, v := range sortedVars(jr.jobVariables()) {
		vars = append(vars, kv{Key: v.Key, Value: v.Value, Public: v.Key != "CI_JOB_TOKEN", Masked: v.Key == "CI_JOB_TOKEN"})
	}
	payload := map[string]any{
		"id":          j.ID,
		"token":       jr.token,
		"job_info":    map[string]any{"name": j.Name, "stage": "test", "project_id": j.ProjectID, "project_name": path.Base(j.ProjectPath)},
		"git_info":    map[string]any{"repo_url": j.ServerURL + "/" + j.ProjectPath + ".git", "ref": "main", "sha": strings.Repeat("0", 40), "ref_type": "branch", "depth": 20},
		"runner_info": map[string]any{"timeout": int(j.Timeout.Seconds())},
		"variables":   vars,
		"steps": []map[string]any{
			{"name": "script", "script": j.Script, "timeout": 3600, "when": "on_success", "allow_failure": false},
			{"name": "after_script", "script": j.AfterScript, "timeout": 300, "when": "always", "allow_failure": true},
		},
		"image": map[string]any{"name": j.Image},
	}
	b, err := json.MarshalIndent(payload, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(jr.tmp, "response.json"), b, 0o600)
}

// Bodies of the built-in sub-stages.

func (jr *run) getSources() []string {
	dir := singleQuote(jr.projectDir())
	return []string{
		echoCommand("Skipping Git repository setup (GIT_STRATEGY=none)"),
		"mkdir -p " + dir,
		"cd " + dir,
	}
}

func (jr *run) buildScript() []string {
	out := []string{"cd " + singleQuote(jr.projectDir())}
	return append(out, userCommands(jr.job.Script)...)
}

func (jr *run) afterScript() []string {
	out := []string{"cd " + singleQuote(jr.projectDir())}
	return append(out, userCommands(jr.job.AfterScript)...)
}

// uploadArtifacts mimics the runner: it calls gitlab-runner in the guest,
// or says it is missing and goes on.
func (jr *run) uploadArtifacts() []string {
	paths := make([]string, len(jr.job.ArtifactPaths))
	for i, p := range jr.job.ArtifactPaths {
		paths[i] = singleQuote(p)
	}
	return []string{
		"cd " + singleQuote(jr.projectDir()),
		"if command -v gitlab-runner >/dev/null 2>&1; then",
		"  echo \"Uploading artifacts with $(gitlab-runner --version | head -n1)\"",
		"  ls -d " + strings.Join(paths, " "),
		"else",
		"  echo 'WARNING: Missing gitlab-runner. Uploading artifacts is disabled.'",
		"fi",
	}
}

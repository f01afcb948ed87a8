package harness

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeExecutor is a shell-executor stand-in: config prints JSON, prepare
// and cleanup append to a journal, run executes the script locally. Its
// behaviour is steered by files in dir.
const fakeExecutor = `#!/bin/bash
dir=$(dirname "$0")
stage=$1; shift
echo "$stage $*" >> "$dir/journal"
case $stage in
config)
  echo '{"builds_dir":"'"$dir"'/builds","builds_dir_is_shared":true,"hostname":"fakehost","driver":{"name":"fake","version":"1"},"job_env":{"FAKE_STATE":"from-config"}}'
  ;;
prepare)
  env > "$dir/prepare.env"
  n=$(grep -c '^prepare' "$dir/journal")
  if [ -f "$dir/prepare-fails" ] && [ "$n" -le "$(cat "$dir/prepare-fails")" ]; then echo "prepare fails ($n)"; exit "$SYSTEM_FAILURE_EXIT_CODE"; fi
  ;;
run)
  script=$1; sub=$2
  if [ "$sub" = build_script ] && [ -f "$dir/ignore-term" ]; then trap '' TERM; fi
  bash "$script"
  code=$?
  if [ $code -ne 0 ]; then echo $code > "$BUILD_EXIT_CODE_FILE"; exit "$BUILD_FAILURE_EXIT_CODE"; fi
  ;;
cleanup) ;;
esac
`

func newFake(t *testing.T) (*Runner, string) {
	t.Helper()
	dir := t.TempDir()
	exe := filepath.Join(dir, "executor")
	if err := os.WriteFile(exe, []byte(fakeExecutor), 0o755); err != nil {
		t.Fatal(err)
	}
	r := &Runner{
		Executor: exe, ConfigArgs: []string{"config"}, PrepareArgs: []string{"prepare"}, RunArgs: []string{"run"}, CleanupArgs: []string{"cleanup"},
		PrepareRetryDelay: 10 * time.Millisecond, GracefulKillTimeout: 500 * time.Millisecond, ForceKillTimeout: 2 * time.Second,
		TempRoot: t.TempDir(),
	}
	return r, dir
}

func journal(t *testing.T, dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "journal"))
	return string(b)
}

func stages(j string) string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(j), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if f[0] == "run" {
			out = append(out, "run:"+f[len(f)-1])
		} else {
			out = append(out, f[0])
		}
	}
	return strings.Join(out, " ")
}

func TestSuccessfulJobSequenceAndEnvironment(t *testing.T) {
	r, dir := newFake(t)
	res, err := r.Run(context.Background(), Job{ID: 5, Image: "img", Script: []string{`echo "it's \"quoted\" \\ $CI_JOB_ID"`}, AfterScript: []string{"echo after=$CI_JOB_STATUS"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "success" {
		t.Fatalf("%+v\n%s", res, res.Log)
	}
	want := "config prepare run:prepare_script run:get_sources run:build_script run:after_script run:cleanup_file_variables cleanup"
	if got := stages(journal(t, dir)); got != want {
		t.Errorf("sequence:\n got %s\nwant %s", got, want)
	}
	for _, s := range []string{`it's "quoted" \ 5`, "after=success", "Running on", "via fakehost", "Using Custom executor with driver fake 1"} {
		if !strings.Contains(res.Log, s) {
			t.Errorf("log lacks %q:\n%s", s, res.Log)
		}
	}
	env, _ := os.ReadFile(filepath.Join(dir, "prepare.env"))
	for _, s := range []string{"CUSTOM_ENV_CI_JOB_ID=5", "CUSTOM_ENV_CI_JOB_IMAGE=img", "BUILD_FAILURE_EXIT_CODE=1", "SYSTEM_FAILURE_EXIT_CODE=2",
		"BUILD_EXIT_CODE_FILE=", "JOB_RESPONSE_FILE=", "TMPDIR=" + res.TempDir, "FAKE_STATE=from-config",
		"CUSTOM_ENV_CI_PROJECT_DIR=" + dir + "/builds/t3stR0nr/0/group/project"} {
		if !strings.Contains(string(env), s) {
			t.Errorf("prepare env lacks %q", s)
		}
	}
	if _, err := os.Stat(res.TempDir); !os.IsNotExist(err) {
		t.Errorf("temp dir not removed")
	}
}

func TestScriptExitCodeFromFile(t *testing.T) {
	r, _ := newFake(t)
	res, _ := r.Run(context.Background(), Job{Script: []string{"exit 42"}})
	if res.Status != "failed" || res.FailureReason != "script_failure" || res.ExitCode != 42 {
		t.Fatalf("%s %s %d\n%s", res.Status, res.FailureReason, res.ExitCode, res.Log)
	}
}

func TestPrepareRetriedWithCleanupBetween(t *testing.T) {
	r, dir := newFake(t)
	if err := os.WriteFile(filepath.Join(dir, "prepare-fails"), []byte("2"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, _ := r.Run(context.Background(), Job{Script: []string{"true"}})
	if res.Status != "success" || res.PrepareAttempts != 3 {
		t.Fatalf("%s after %d attempts\n%s", res.Status, res.PrepareAttempts, res.Log)
	}
	got := stages(journal(t, dir))
	if !strings.HasPrefix(got, "config prepare cleanup config prepare cleanup config prepare run:prepare_script") {
		t.Errorf("sequence %s", got)
	}
}

func TestPrepareGivesUpAfterThreeAttempts(t *testing.T) {
	r, dir := newFake(t)
	_ = os.WriteFile(filepath.Join(dir, "prepare-fails"), []byte("9"), 0o644)
	res, _ := r.Run(context.Background(), Job{Script: []string{"true"}})
	if res.Status != "failed" || res.FailureReason != "runner_system_failure" || res.PrepareAttempts != 3 {
		t.Fatalf("%s %s %d", res.Status, res.FailureReason, res.PrepareAttempts)
	}
	if n := strings.Count(journal(t, dir), "cleanup"); n != 3 {
		t.Errorf("%d cleanups, want 3 (two between attempts, one at the end)", n)
	}
}

func TestUnknownExitCode(t *testing.T) {
	r, dir := newFake(t)
	exe := filepath.Join(dir, "exit5")
	_ = os.WriteFile(exe, []byte("#!/bin/sh\n[ \"$1\" = config ] && exit 0\nexit 5\n"), 0o755)
	r.Executor = exe
	res, _ := r.Run(context.Background(), Job{Script: []string{"true"}})
	if !strings.Contains(res.FailureReason, "unknown Custom executor executable exit code 5") {
		t.Fatalf("%q", res.FailureReason)
	}
}

func TestCancelSendsTermThenKillToTheProcessGroup(t *testing.T) {
	r, dir := newFake(t)
	_ = os.WriteFile(filepath.Join(dir, "ignore-term"), nil, 0o644)
	job := Job{Script: []string{`trap '' TERM`, "echo cancel-me-$((1+1))", "sleep 30"}, AfterScript: []string{"echo after=$CI_JOB_STATUS"}, CancelWhenLog: "cancel-me-2"}
	start := time.Now()
	res, _ := r.Run(context.Background(), job)
	if res.Status != "canceled" {
		t.Fatalf("status %s\n%s", res.Status, res.Log)
	}
	b := res.Stage("run:build_script")
	if len(b) != 1 || !b[0].Signaled || b[0].ExitCode != -1 {
		t.Fatalf("build stage %+v", b)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("cancel took %s", took)
	}
	if !strings.Contains(res.Log, "after=canceled") {
		t.Errorf("after_script did not run after cancel:\n%s", res.Log)
	}
}

func TestJobTimeout(t *testing.T) {
	r, _ := newFake(t)
	res, _ := r.Run(context.Background(), Job{Script: []string{"sleep 30"}, Timeout: 300 * time.Millisecond})
	if res.Status != "failed" || res.FailureReason != "job_execution_timeout" {
		t.Fatalf("%s %s\n%s", res.Status, res.FailureReason, res.Log)
	}
}

func TestAnsiCQuoteRoundTrip(t *testing.T) {
	in := "a'b\\c\n\td\x1b[0m $HOME `x` \"y\""
	out, err := exec.Command("bash", "-c", "printf %s "+ansiCQuote(in)).Output()
	if err != nil || string(out) != in {
		t.Fatalf("got %q, %v", out, err)
	}
}

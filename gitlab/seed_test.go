package gitlab_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tartanhq/tartan/gitlab/harness"
)

// seedRunner is a [runners.custom] section of the Python
// gitlab-runner-tart-driver's README (seed 004) with only *_exec changed:
// the args are the README's; the executor finds its Tartan settings (here:
// tart-sim and the test's dirs) through TARTAN_GITLAB_CONFIG in the
// runner's environment.
func (h *simHost) seedRunner(settingsFile string, config, prepare, run, cleanup []string) *harness.Runner {
	r := h.runner(settingsFile)
	r.ConfigArgs, r.PrepareArgs, r.RunArgs, r.CleanupArgs = config, prepare, run, cleanup
	r.Env = append(append([]string{}, h.env...), "TARTAN_GITLAB_CONFIG="+settingsFile)
	return r
}

// The README's "GitLab Runner Configuration" section, verbatim.
func TestSeed004SetupConfigTomlRunsUnchanged(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	x := []string{"-x", "/opt/homebrew/bin/tart"}
	r := h.seedRunner(h.settings(),
		append([]string{"config"}, x...), append([]string{"prepare"}, x...),
		append([]string{"run"}, x...), append([]string{"cleanup"}, x...))
	job := newJob(`echo "hello from $(uname -s) in $BASH_VERSION"`)
	job.Variables = map[string]string{"TART_PULL_POLICY": "always", "TART_SSH_USERNAME": "gitlab", "TART_SSH_PASSWORD": "gitlab"}
	res := h.run(r, job)
	if res.Status != "success" || res.PrepareAttempts != 1 {
		t.Fatalf("status %s (%s) after %d prepare attempt(s); log:\n%s", res.Status, res.FailureReason, res.PrepareAttempts, res.Log)
	}
	// On this host /opt/homebrew/bin/tart does not exist: the flag is
	// reported and tart is found through the settings.
	mustContain(t, res.Log, "hello from Linux in 5",
		"Flag -x /opt/homebrew/bin/tart of gitlab-runner-tart-driver names no file on this host: ignored",
		`Job variable TART_PULL_POLICY ignored: pull_policy is not job-overridable: the runner admin allows it by adding "pull_policy" to job_overridable`,
		"Job variable TART_SSH_USERNAME ignored: ssh_user is locked by the runner admin (it guards the host or other jobs; jobs can never set it): the admin sets ssh_user in the executor settings (--ssh-user)")
	if strings.Count(res.Log, "Flag -x /opt/homebrew/bin/tart") != 3 { // config, prepare, first run stage
		t.Errorf("want one notice per stage (config, prepare, prepare_script); log:\n%s", res.Log)
	}
	if strings.Contains(res.Log, "TART_SSH_PASSWORD ignored") && strings.Contains(res.Log, "=gitlab") {
		t.Errorf("a password reached the log:\n%s", res.Log)
	}
}

// The README's Concurrency, Host Cache and Builds directories, Volume
// Mounts and Custom shell sections in one runner: the README's args, with
// the host paths (/Users/gitlab/..., /data/models) replaced by test dirs.
func TestSeed004AdvancedConfigTomlRunsUnchanged(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	root := t.TempDir()
	hostCache, hostBuilds := filepath.Join(root, "cache"), filepath.Join(root, "builds")
	models := filepath.Join(root, "models")
	guestModels := filepath.Join(h.guest, "opt", "data", "models")
	if err := os.MkdirAll(models, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(models, "m.txt"), []byte("weights\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	x := []string{"-x", "/opt/homebrew/bin/tart"}
	prepare := append(append([]string{"prepare"}, x...), "--concurrency", "2", "--auto-resources",
		"--cache-dir", hostCache, "--builds-dir", hostBuilds,
		"--volume "+models+"/:"+guestModels+":ro", // one argument with a space, as the README writes it
		"--timeout", "30", "--exclude-image-expr", `^(?!ghcr\.io/cirruslabs/)`, "--exclude-image-expr", "ubuntu:.*-beta")
	r := h.seedRunner(h.settings(), []string{"config"}, prepare,
		append(append([]string{"run"}, x...), "--shell", "/bin/zsh", "--timeout", "30"),
		append([]string{"cleanup"}, x...))
	guestCache := filepath.Join(h.guest, "cache")
	job := newJob(
		`echo "shell: $BASH_VERSION"`,
		`echo 'export FROM_ZPROFILE=yes' >> ~/.zprofile`,
		`echo built > built.txt`,
		`echo cached > `+guestCache+`/c.txt`,
		`cat `+guestModels+`/m.txt`,
		`if touch `+guestModels+`/new 2>/dev/null; then echo "volume writable"; else echo "volume read-only"; fi`,
		`words="a b"; for w in $words; do echo "word:$w"; done`)
	job.AfterScript = []string{`echo "zprofile: ${FROM_ZPROFILE:-not read}"`}
	job.ConcurrentProjectID = 3
	res := h.run(r, job)
	if res.Status != "success" {
		t.Fatalf("status %s (%s); log:\n%s", res.Status, res.FailureReason, res.Log)
	}
	mustContain(t, res.Log,
		"Flag --auto-resources of gitlab-runner-tart-driver is cpu = \"auto\" and memory = \"auto\"",
		"Flag --cache-dir "+hostCache+" of gitlab-runner-tart-driver is host_cache_dir",
		"Flag --builds-dir "+hostBuilds+" of gitlab-runner-tart-driver is host_builds_dir",
		"Flag --volume "+models+"/:"+guestModels+":ro of gitlab-runner-tart-driver is an entry of volumes",
		"Flag --timeout 30 of gitlab-runner-tart-driver is ready_timeout",
		"Flag --timeout 30 of gitlab-runner-tart-driver is connect_timeout",
		`Flag --exclude-image-expr ^(?!ghcr\.io/cirruslabs/) of gitlab-runner-tart-driver is an entry of denied_images`,
		// bash runs GitLab's bash script (word splitting as in bash)...
		"shell: 5", "word:a\n", "word:b\n",
		// ...inside a zsh login environment: ~/.zprofile is read.
		"zprofile: yes",
		"weights", "volume read-only")
	// The config stage did not see --builds-dir, so GitLab used
	// <builds>/<namespace>/<project>; the job's subdirectory keeps the host
	// layout of builds_dir_is_shared and concurrent jobs apart.
	if b, err := os.ReadFile(filepath.Join(hostBuilds, "t3stR0nr", "3", "group", "project", "built.txt")); err != nil || string(b) != "built\n" {
		t.Errorf("builds dir on the host: %q %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(hostCache, "c.txt")); err != nil || string(b) != "cached\n" {
		t.Errorf("cache dir on the host: %q %v", b, err)
	}
}

// --exclude-image-expr refuses an image as the Python driver did (re.search,
// lookaround), as a build failure GitLab does not retry.
func TestSeed004ExcludeImageExpr(t *testing.T) {
	t.Parallel()
	h := newSimHost(t)
	r := h.seedRunner(h.settings(), []string{"config"},
		[]string{"prepare", "--exclude-image-expr", "xcode:15.*", "--exclude-image-expr", `sequoia-(?!xcode)`},
		[]string{"run"}, []string{"cleanup"})
	start := time.Now()
	res := h.run(r, newJob("echo must not run"))
	if res.Status != "failed" || res.FailureReason != "script_failure" || res.PrepareAttempts != 1 {
		t.Fatalf("status %s (%s) after %d attempt(s); log:\n%s", res.Status, res.FailureReason, res.PrepareAttempts, res.Log)
	}
	mustContain(t, res.Log, macImage, "denied_images entry sequoia-(?!xcode)")
	if strings.Contains(res.Log, "must not run\n") || time.Since(start) > time.Minute {
		t.Errorf("the job ran; log:\n%s", res.Log)
	}
}

package gitlab

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad input gives a clear message and the runner's failure code, never a
// panic. (Not parallel: Main reads the process environment.)
func TestMainBadInput(t *testing.T) {
	t.Setenv("SYSTEM_FAILURE_EXIT_CODE", "42")
	t.Setenv("BUILD_FAILURE_EXIT_CODE", "41")
	for _, tc := range []struct {
		name  string
		args  []string
		jobID string
		code  int
		want  string
	}{
		{"no args", nil, "1", 2, "usage:"},
		{"help", []string{"prepare", "--help"}, "", 0, "usage:"},
		{"version", []string{"version"}, "", 0, DriverName},
		{"settings", []string{"settings"}, "", 0, "| `pull_policy`"},
		{"unknown stage", []string{"deploy"}, "1", 42, `unknown stage "deploy"`},
		{"not from a runner", []string{"prepare"}, "", 42, "CUSTOM_ENV_CI_JOB_ID is not set"},
		{"bad flag value", []string{"config", "--pull-policy", "sometimes"}, "1", 42, "pull_policy"},
		{"run without script", []string{"run", "--tart-binary", "/bin/true"}, "1", 42, "run needs <script path> <stage name>"},
		{"no tart", []string{"config", "--tart-binary", "/nonexistent/tart"}, "1", 42, "tart"},
		// A job's invalid override fails prepare as a build failure (no
		// retry); config goes on with the admin's settings.
		{"bad job override", []string{"prepare", "--job-overridable", "cpu", "--tart-binary", "/bin/true"}, "1", 41, "TARTAN_CPU"},
		{"bad job override in config", []string{"config", "--job-overridable", "cpu", "--tart-binary", "/bin/true"}, "1", 0, `"builds_dir"`},
		{"python driver version", []string{"-v"}, "", 0, DriverName},
		{"python driver flag", []string{"config", "-x", "/opt/homebrew/bin/no-tart", "--tart-binary", "/bin/true"}, "1", 0, "Flag -x /opt/homebrew/bin/no-tart of gitlab-runner-tart-driver names no file on this host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CUSTOM_ENV_CI_JOB_ID", tc.jobID)
			t.Setenv("CUSTOM_ENV_TARTAN_CPU", "many")
			if tc.jobID == "" {
				os.Unsetenv("CUSTOM_ENV_CI_JOB_ID")
			}
			state := filepath.Join(t.TempDir(), "state")
			args := tc.args
			if len(args) > 0 && args[0] != "version" && args[0] != "settings" && args[0] != "-v" {
				args = append([]string{args[0], "--state-dir", state}, args[1:]...)
			}
			var out, errb bytes.Buffer
			code := Main(args, &out, &errb)
			if code != tc.code || !strings.Contains(out.String()+errb.String(), tc.want) {
				t.Errorf("Main(%q) = %d, output %q %q; want %d mentioning %q", args, code, out.String(), errb.String(), tc.code, tc.want)
			}
		})
	}
}

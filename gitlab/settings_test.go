package gitlab

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeTOML(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gitlab.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	s := DefaultSettings()
	if s.PullPolicy != "if-not-present" || !s.Headless || s.MacOSLimit != 2 || s.IPTimeout != 2*time.Minute ||
		s.GuestBuildsDir != "/var/tmp/builds" || s.SSHUser != "admin" || s.Network != "nat" || !s.AutoPrune {
		t.Fatalf("unexpected defaults:\n%s", s)
	}
	if err := s.validateAdmin(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
}

func TestLoadSettingsPrecedence(t *testing.T) {
	file := writeTOML(t, `
pull_policy = "always"
cpu = "auto"
allowed_images = ["ghcr.io/cirruslabs/*"]
ip_timeout = 30
headless = false
`)
	s, rest, err := LoadSettings([]string{"--config", file, "--pull-policy", "never", "--volumes", "/a:/b", "--volumes", "/c:/d:ro", "script.sh", "build_script"})
	if err != nil {
		t.Fatal(err)
	}
	if s.PullPolicy != "never" {
		t.Errorf("flag must beat the file: pull_policy %q", s.PullPolicy)
	}
	if s.CPU != "auto" || s.IPTimeout != 30*time.Second || s.Headless {
		t.Errorf("file values not applied: cpu %q ip_timeout %s headless %v", s.CPU, s.IPTimeout, s.Headless)
	}
	if len(s.AllowedImages) != 1 || len(s.Volumes) != 2 {
		t.Errorf("lists: %v %v", s.AllowedImages, s.Volumes)
	}
	if strings.Join(rest, " ") != "script.sh build_script" {
		t.Errorf("positional args %q", rest)
	}
}

func TestLoadSettingsErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"unknown toml key":    {[]string{"--config", writeTOML(t, "pul_policy = \"always\"\n")}, `unknown key "pul_policy"`},
		"bad policy":          {[]string{"--pull-policy", "sometimes"}, "pull_policy"},
		"locked overridable":  {[]string{"--job-overridable", "ssh_password"}, "locked"},
		"unknown overridable": {[]string{"--job-overridable", "nope"}, `unknown key "nope"`},
		"bridged without if":  {[]string{"--network", "bridged"}, "bridged_interfaces"},
		"guest dir in /tmp":   {[]string{"--guest-builds-dir", "/tmp/builds"}, "/var/tmp"},
		"bad volume":          {[]string{"--volumes", "relative:/x"}, "absolute"},
		"bad regexp":          {[]string{"--denied-images", "("}, "regular expression"},
		"bad duration":        {[]string{"--ip-timeout", "soon"}, "duration"},
		"bad cpu":             {[]string{"--cpu", "lots"}, "cpu"},
		"unknown flag":        {[]string{"--no-such-flag"}, "no-such-flag"},
		"missing file":        {[]string{"--config", "/nonexistent/gitlab.toml"}, "reading settings file"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := LoadSettings(tc.args)
			if !errors.Is(err, ErrSettings) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrSettings mentioning %q", err, tc.want)
			}
		})
	}
}

func TestJobOverrides(t *testing.T) {
	s := DefaultSettings()
	s.JobOverridable = []string{"cpu", "pull_policy", "headless", "guest_runner"}
	report, err := s.ApplyJobOverrides(envOf(map[string]string{
		"TARTAN_CPU":                          "6",
		"TART_EXECUTOR_ALWAYS_PULL":           "true",  // legacy, converted
		"TART_EXECUTOR_HEADLESS":              "false", // legacy bool
		"TART_EXECUTOR_INSTALL_GITLAB_RUNNER": "brew",  // legacy, converted
		"TART_EXECUTOR_SOFTNET_ENABLED":       "false", // locked
		"TART_SSH_PASSWORD":                   "hunter22",
		"TARTAN_MEMORY":                       "9000", // not allowed
	}))
	if err != nil {
		t.Fatal(err)
	}
	if s.CPU != "6" || s.PullPolicy != "always" || s.Headless || s.GuestRunner != "install" {
		t.Errorf("allowed overrides not applied:\n%s", s)
	}
	if s.Network != "nat" || s.SSHPassword != "admin" || s.Memory != "" {
		t.Errorf("refused overrides applied:\n%s", s)
	}
	got := map[string]Override{}
	for _, o := range report {
		got[o.Variable] = o
	}
	if o := got["TART_SSH_PASSWORD"]; o.Applied || !strings.Contains(o.Reason, "the admin sets ssh_password in the executor settings (--ssh-password)") || o.Value != "[MASKED]" {
		t.Errorf("ssh password override report: %+v", o)
	}
	if o := got["TARTAN_MEMORY"]; o.Applied || !strings.Contains(o.Reason, "job_overridable") {
		t.Errorf("memory override report: %+v", o)
	}
	if len(report) != 7 {
		t.Errorf("report has %d entries, want 7: %+v", len(report), report)
	}
}

func TestJobOverrideInvalidValue(t *testing.T) {
	s := DefaultSettings()
	s.JobOverridable = []string{"pull_policy", "cpu"}
	for _, env := range []map[string]string{{"TARTAN_PULL_POLICY": "sometimes"}, {"TARTAN_CPU": "-1"}} {
		if _, err := s.ApplyJobOverrides(envOf(env)); err == nil {
			t.Errorf("%v accepted", env)
		}
	}
}

func TestSecretsAndString(t *testing.T) {
	s := DefaultSettings()
	s.SSHPassword, s.KeychainPassword = "pw-one-123", "pw-two-456"
	if got := strings.Join(s.Secrets(), ","); got != "pw-one-123,pw-two-456" {
		t.Errorf("Secrets() = %q", got)
	}
	if strings.Contains(s.String(), "pw-one") {
		t.Errorf("String() shows a secret")
	}
}

func TestEveryFieldHasHelpAndIsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "gitlab.md"))
	if err != nil {
		t.Skipf("docs/gitlab.md: %v", err)
	}
	for _, f := range DefaultSettings().fields() {
		if f.Help == "" {
			t.Errorf("%s has no help", f.Key)
		}
		if !strings.Contains(string(doc), "`"+f.Key+"`") {
			t.Errorf("docs/gitlab.md does not document %s", f.Key)
		}
	}
}

// docs/gitlab.md embeds SettingsMarkdown between markers; regenerate it
// with `gitlab-tart-executor settings` when a setting changes.
func TestDocsSettingsTableIsCurrent(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "gitlab.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "<!-- settings:begin -->\n")
	table, _, ok2 := strings.Cut(rest, "<!-- settings:end -->")
	if !ok || !ok2 {
		t.Fatal("settings markers missing in docs/gitlab.md")
	}
	if table != SettingsMarkdown() {
		t.Errorf("docs/gitlab.md settings table is stale: replace it with the output of `gitlab-tart-executor settings`")
	}
}

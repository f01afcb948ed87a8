package applecontainer

import (
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

func TestValidName(t *testing.T) {
	for _, ok := range []string{"ab", "web-1", "nomad-task_1.a", strings.Repeat("x", 63), "0abc"} {
		must.NoError(t, ValidName(ok), must.Sprint(ok))
	}
	for _, bad := range []string{"", "a", "-ab", ".ab", "a b", "ab/c", strings.Repeat("x", 64), "ünï"} {
		err := ValidName(bad)
		must.ErrorIs(t, err, ErrInvalidInput, must.Sprint(bad))
		must.StrContains(t, err.Error(), "Name")
	}
}

func TestNormalizeReference(t *testing.T) {
	for in, want := range map[string]string{
		"alpine":                       "docker.io/library/alpine:latest",
		"alpine:3.20":                  "docker.io/library/alpine:3.20",
		"user/app":                     "docker.io/user/app:latest",
		"ghcr.io/o/i":                  "ghcr.io/o/i:latest",
		"localhost:5000/x":             "localhost:5000/x:latest",
		"localhost/x:1":                "localhost/x:1",
		"127.0.0.1:5000/private/app:1": "127.0.0.1:5000/private/app:1",
		"docker.io/nginx":              "docker.io/library/nginx:latest",
		"index.docker.io/nginx:1":      "docker.io/library/nginx:1",
		"alpine@sha256:abcd":           "docker.io/library/alpine@sha256:abcd",
		"ghcr.io/o/i:1@sha256:abcd":    "ghcr.io/o/i:1@sha256:abcd",
	} {
		must.Eq(t, want, NormalizeReference(in), must.Sprint(in))
	}
}

func TestShortCommandArgs(t *testing.T) {
	got, err := StopArgs("web", StopOptions{Signal: "SIGQUIT", Timeout: 1500 * time.Millisecond})
	must.NoError(t, err)
	must.Eq(t, []string{"stop", "--signal", "SIGQUIT", "--time", "2", "web"}, got)
	got, err = StopArgs("web", StopOptions{})
	must.NoError(t, err)
	must.Eq(t, []string{"stop", "web"}, got)
	_, err = StopArgs("web", StopOptions{Timeout: -time.Second})
	must.ErrorIs(t, err, ErrInvalidInput)
	_, err = StopArgs("web", StopOptions{Signal: "NOT A SIGNAL"})
	must.ErrorIs(t, err, ErrInvalidInput)

	got, err = KillArgs("web", "")
	must.NoError(t, err)
	must.Eq(t, []string{"kill", "web"}, got)
	for _, sig := range []string{"TERM", "sigusr1", "9", "RTMIN+3"} {
		got, err = KillArgs("web", sig)
		must.NoError(t, err)
		must.Eq(t, []string{"kill", "--signal", sig, "web"}, got)
	}
	_, err = KillArgs("web", "0")
	must.ErrorIs(t, err, ErrInvalidInput)
	_, err = KillArgs("--all", "")
	must.ErrorIs(t, err, ErrInvalidInput)

	got, err = DeleteArgs("web", true)
	must.NoError(t, err)
	must.Eq(t, []string{"delete", "--force", "web"}, got)

	must.Eq(t, []string{"list", "--all", "--format", "json"}, ListArgs(true))
	must.Eq(t, []string{"list", "--format", "json"}, ListArgs(false))

	got, err = LogsArgs("web", LogsOptions{Follow: true, Tail: 10})
	must.NoError(t, err)
	must.Eq(t, []string{"logs", "--follow", "-n", "10", "web"}, got)
	_, err = LogsArgs("web", LogsOptions{Tail: -1})
	must.ErrorIs(t, err, ErrInvalidInput)

	got, err = ExecArgs("web", []string{"sh", "-c", "id -u"}, ExecOptions{Interactive: true, TTY: true, Env: []string{"A=1"}, User: "nobody", Workdir: "/tmp"})
	must.NoError(t, err)
	must.Eq(t, []string{"exec", "--interactive", "--tty", "--env", "A=1", "--user", "nobody", "--workdir", "/tmp", "web", "sh", "-c", "id -u"}, got)
	_, err = ExecArgs("web", nil, ExecOptions{})
	must.ErrorIs(t, err, ErrInvalidInput)
	_, err = ExecArgs("web", []string{"true"}, ExecOptions{Env: []string{"=1"}})
	must.ErrorIs(t, err, ErrInvalidInput)

	got, err = StatsArgs("a1", "b2")
	must.NoError(t, err)
	must.Eq(t, []string{"stats", "--no-stream", "--format", "json", "a1", "b2"}, got)
}

func TestPullArgs(t *testing.T) {
	got, err := PullArgs("alpine", PullOptions{Platform: "linux/arm64"}, v122)
	must.NoError(t, err)
	must.Eq(t, []string{"image", "pull", "--progress", "none", "--platform", "linux/arm64", "alpine"}, got)
	got, err = PullArgs("alpine", PullOptions{}, mustVersion("0.6.0"))
	must.NoError(t, err)
	must.Eq(t, []string{"image", "pull", "--disable-progress-updates", "alpine"}, got)
	_, err = PullArgs("alpine", PullOptions{Platform: "linux/arm64"}, mustVersion("0.3.0"))
	must.ErrorIs(t, err, ErrUnsupported)
	_, err = PullArgs("alpine", PullOptions{Scheme: "auto"}, mustVersion("1.3.0"))
	must.ErrorIs(t, err, ErrInvalidInput)
	got, err = PullArgs("alpine", PullOptions{Scheme: "http"}, mustVersion("1.3.0"))
	must.NoError(t, err)
	must.SliceContains(t, got, "http")
	_, err = PullArgs("", PullOptions{}, v122)
	must.ErrorIs(t, err, ErrInvalidInput)
}

func TestRedactArgs(t *testing.T) {
	run, err := RunArgs(RunOptions{Image: "alpine", Env: []string{"API_TOKEN=hunter22", "PLAIN"}, Name: "ab", Labels: map[string]string{"k": "v"},
		Args: []string{"sh", "-c", "curl -u admin:hunter22 x"}}, v122)
	must.NoError(t, err)
	red := strings.Join(RedactArgs(run), " ")
	must.StrNotContains(t, red, "hunter22")
	must.StrContains(t, red, "--env API_TOKEN=REDACTED --env PLAIN")
	must.StrContains(t, red, "alpine sh <2 args redacted>")
	must.StrContains(t, red, "--label k=v")

	ex, err := ExecArgs("web", []string{"psql", "postgres://u:pw-secret@db/x"}, ExecOptions{Env: []string{"PGPASSWORD=pw-secret"}})
	must.NoError(t, err)
	red = strings.Join(RedactArgs(ex), " ")
	must.StrNotContains(t, red, "pw-secret")
	must.StrContains(t, red, "web psql")

	must.Eq(t, []string{"image", "pull", "https://u:REDACTED@h/x"}, RedactArgs([]string{"image", "pull", "https://u:p@h/x"}))
}

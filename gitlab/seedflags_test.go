package gitlab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Every flag of every stage of the Python driver's CLI (seed 004) loads
// into the Tartan setting with its meaning, with one notice each.
func TestSeedFlagsEveryStage(t *testing.T) {
	tartBin := filepath.Join(t.TempDir(), "tart")
	if err := os.WriteFile(tartBin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		stage   string
		args    []string
		check   func(s *Settings) bool
		notices int
	}{
		{"config", []string{"-x", tartBin}, func(s *Settings) bool { return s.TartBinary == tartBin }, 1},
		{"cleanup", []string{"--tart-executable=" + tartBin}, func(s *Settings) bool { return s.TartBinary == tartBin }, 1},
		{"prepare", []string{"-x/opt/homebrew/bin/tart-missing"}, func(s *Settings) bool { return s.TartBinary == "" }, 1},
		{"prepare", []string{"--cpu", "6", "--auto-resources", "--memory", "4096"}, func(s *Settings) bool { return s.CPU == "6" && s.Memory == "4096" }, 1},
		{"prepare", []string{"--auto-resources", "--concurrency", "2"}, func(s *Settings) bool { return s.CPU == "auto" && s.Memory == "auto" && s.Concurrency == 2 }, 1},
		{"prepare", []string{"--no-auto-resources", "--cpu", "4"}, func(s *Settings) bool { return s.CPU == "4" && s.Memory == "" }, 1},
		{"prepare", []string{"--display", "1200x800"}, func(s *Settings) bool { return s.Display == "1200x800" }, 0},
		{"prepare", []string{"--cache-dir", "/c", "--builds-dir", "/b"}, func(s *Settings) bool { return s.HostCacheDir == "/c" && s.HostBuildsDir == "/b" }, 2},
		{"prepare", []string{"--volume", "/a:/x", "--volume=/b:/y:ro", "--volume /data/models/:/opt/data/models:ro"},
			func(s *Settings) bool {
				return strings.Join(s.Volumes, ",") == "/a:/x,/b:/y:ro,/data/models/:/opt/data/models:ro"
			}, 3},
		{"prepare", []string{"--timeout", "90"}, func(s *Settings) bool { return s.ReadyTimeout == 90*time.Second }, 1},
		{"run", []string{"--timeout", "15"}, func(s *Settings) bool { return s.ConnectTimeout == 15*time.Second }, 1},
		{"cleanup", []string{"--timeout", "15"}, func(s *Settings) bool { return s.ConnectTimeout == 30*time.Second }, 1},
		{"prepare", []string{"--install-gitlab-runner"}, func(s *Settings) bool { return s.GuestRunner == "install" && !s.GuestRunnerForce }, 1},
		{"prepare", []string{"--force-install-gitlab-runner", "--gitlab-runner-version", "15.11.0"},
			func(s *Settings) bool {
				return s.GuestRunner == "install" && s.GuestRunnerForce && s.GuestRunnerVersion == "15.11.0"
			}, 2},
		{"prepare", []string{"--gitlab-runner-version", "latest"}, func(s *Settings) bool { return s.GuestRunnerVersion == "" }, 1},
		{"prepare", []string{"--exclude-image-expr", "xcode:15.*", "--exclude-image-expr", `(?<!stable)-beta$`},
			func(s *Settings) bool { return strings.Join(s.DeniedImages, " ") == `xcode:15.* (?<!stable)-beta$` }, 2},
		{"run", []string{"--shell", "/bin/zsh"}, func(s *Settings) bool { return s.Shell == "/bin/zsh" }, 0},
		{"run", []string{"--default-ssh-user", "gitlab", "--default-ssh-password", "s3cret"},
			func(s *Settings) bool { return s.SSHUser == "gitlab" && s.SSHPassword == "s3cret" }, 2},
	}
	for _, c := range cases {
		args, notices := translateSeedFlags(c.stage, c.args)
		s, rest, err := LoadSettings(args)
		if err != nil || len(rest) != 0 {
			t.Errorf("%s %q: %v (rest %q)", c.stage, c.args, err, rest)
			continue
		}
		if !c.check(s) || len(notices) != c.notices {
			t.Errorf("%s %q: wrong settings or %d notices %q:\n%s", c.stage, c.args, len(notices), notices, s)
		}
		for _, n := range notices {
			if strings.Contains(n.String(), "s3cret") {
				t.Errorf("notice shows a password: %s", n)
			}
		}
	}
}

// Positional arguments of run and Tartan's own flags (values starting
// with '-' included) pass through untouched.
func TestSeedFlagsLeaveTartanArgsAlone(t *testing.T) {
	args, notices := translateSeedFlags("run", []string{"--ssh-password", "--timeout", "-x", "/nope", "/tmp/script", "build_script"})
	want := "--ssh-password --timeout /tmp/script build_script"
	if strings.Join(args, " ") != want || len(notices) != 1 {
		t.Fatalf("got %q %q, want %q", args, notices, want)
	}
	if args, _ := translateSeedFlags("run", []string{"--", "-x", "y"}); strings.Join(args, " ") != "-- -x y" {
		t.Errorf("after --: %q", args)
	}
}

// The kinds of --exclude-image-expr the Python driver's users write, with
// what Python's re.search says about them.
func TestPythonRegexpLikeReSearch(t *testing.T) {
	cases := []struct {
		expr  string
		image string
		match bool
	}{
		{"xcode:15.*", "ghcr.io/cirruslabs/macos-sonoma-xcode:15.4", true},
		{"xcode:15.*", "ghcr.io/cirruslabs/macos-sonoma-xcode:16", false},
		{"ubuntu:.*-beta", "ghcr.io/cirruslabs/ubuntu:24.04-beta", true},
		{`^(?!ghcr\.io/cirruslabs/)`, "ghcr.io/cirruslabs/macos-sequoia-base:latest", false}, // only this org allowed
		{`^(?!ghcr\.io/cirruslabs/)`, "docker.io/evil/macos:latest", true},
		{`(?<!stable)-beta$`, "repo/xcode:16-beta", true}, // lookbehind
		{`(?<!stable)-beta$`, "repo/xcode:stable-beta", false},
		{`:(?P<major>\d+)\.(?P=major)$`, "repo/macos:14.14", true}, // Python named group and backreference
		{`:(?P<major>\d+)\.(?P=major)$`, "repo/macos:14.15", false},
		{`(?i)SEQUOIA`, "ghcr.io/cirruslabs/macos-sequoia-base", true},
		{`base\Z`, "repo/macos-base\n", false}, // \Z is the very end in Python
		{`base$`, "repo/macos-base\n", true},
		{`x{,2}y$`, "repo/xxy", true}, // {,n} = 0..n in Python
		{`[]x]`, "repo/a]b", true},    // ']' first in a class is a member
		{`latest`, "repo/macos:latest", true},
	}
	for _, c := range cases {
		re, err := compilePython(c.expr)
		if err != nil {
			t.Errorf("%q: %v", c.expr, err)
			continue
		}
		if got := re.MatchString(c.image); got != c.match {
			t.Errorf("re.search(%q, %q) = %v, Python says %v", c.expr, c.image, got, c.match)
		}
	}
	if _, err := compilePython(`(?<!unclosed`); err == nil || !strings.Contains(err.Error(), "not a valid Python regular expression") {
		t.Errorf("bad expression: %v", err)
	}
}

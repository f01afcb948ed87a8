package gitlab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tartanhq/tartan/tart"
)

func TestChooseImage(t *testing.T) {
	s := DefaultSettings()
	s.DefaultImage = "ghcr.io/cirruslabs/macos-sequoia-base:latest"
	s.AllowedImages = []string{"ghcr.io/cirruslabs/*", "registry.example.com/**"}
	s.DeniedImages = []string{`xcode:15\.`, `-beta$`}
	for _, tc := range []struct {
		job, want string
		refused   bool
	}{
		{"", s.DefaultImage, false},
		{"ghcr.io/cirruslabs/macos-sonoma-xcode:16", "ghcr.io/cirruslabs/macos-sonoma-xcode:16", false},
		{"ghcr.io/cirruslabs/nested/image:1", "", true}, // * stops at /
		{"registry.example.com/team/deep/image:1", "registry.example.com/team/deep/image:1", false},
		{"ghcr.io/cirruslabs/macos-sonoma-xcode:15.4", "", true}, // denied
		{"ghcr.io/cirruslabs/macos-tahoe-beta", "", true},        // denied
		{"docker.io/library/ubuntu", "", true},                   // not allowed
	} {
		got, err := ChooseImage(s, tc.job)
		var re *ImageRefusedError
		if tc.refused != errors.As(err, &re) || got != tc.want {
			t.Errorf("ChooseImage(%q) = %q, %v", tc.job, got, err)
		}
	}
	empty := DefaultSettings()
	if _, err := ChooseImage(empty, ""); err == nil || !strings.Contains(err.Error(), "default_image") {
		t.Errorf("no image: %v", err)
	}
}

func TestRegistryCredentials(t *testing.T) {
	img := "registry.gitlab.example.com/group/macos:latest"
	job := envOf(map[string]string{"CI_REGISTRY": "registry.gitlab.example.com", "CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": "jobtoken"})
	c := RegistryCredentials(img, job)
	if c == nil || c.Username != "gitlab-ci-token" || c.Hostname != "registry.gitlab.example.com" {
		t.Errorf("CI_REGISTRY credentials: %v", c)
	}
	if c := RegistryCredentials("ghcr.io/other/image", job); c != nil {
		t.Errorf("CI_REGISTRY credentials used for another registry: %v", c)
	}
	own := envOf(map[string]string{"TART_REGISTRY_USERNAME": "u", "TART_REGISTRY_PASSWORD": "p", "TART_REGISTRY_HOSTNAME": "ghcr.io", "CI_REGISTRY": "x"})
	if c := RegistryCredentials("ghcr.io/a/b", own); c == nil || c.Username != "u" || c.Hostname != "ghcr.io" {
		t.Errorf("TART_REGISTRY credentials: %v", c)
	}
	if RegistryCredentials("local-vm", envOf(nil)) != nil {
		t.Errorf("credentials without variables")
	}
}

func TestVMName(t *testing.T) {
	base := Job{ID: "1234", ServerURL: "https://gitlab.example.com", RunnerShortToken: "AbC_dEf9"}
	n := VMName(&base)
	if !strings.HasPrefix(n, VMPrefix) || !strings.HasSuffix(n, "-abcdef9-1234") || strings.Contains(n, "/") {
		t.Errorf("VMName = %q", n)
	}
	if VMName(&base) != n {
		t.Errorf("not deterministic")
	}
	other := base
	other.ServerURL = "https://gitlab.other.org"
	runner2 := base
	runner2.RunnerShortToken = "zzz"
	byID := Job{ID: "1234", ServerURL: base.ServerURL, RunnerID: "77"}
	names := map[string]bool{n: true}
	for _, j := range []Job{other, runner2, byID} {
		if names[VMName(&j)] {
			t.Errorf("clash: %q", VMName(&j))
		}
		names[VMName(&j)] = true
	}
}

func TestJobFromEnv(t *testing.T) {
	env := map[string]string{
		"CUSTOM_ENV_CI_JOB_ID": "99", "CUSTOM_ENV_CI_JOB_IMAGE": "img", "BUILD_FAILURE_EXIT_CODE": "7",
		"SYSTEM_FAILURE_EXIT_CODE": "8", "BUILD_EXIT_CODE_FILE": "/x",
	}
	j, err := JobFromEnv(envOf(env))
	if err != nil || j.ID != "99" || j.Image != "img" || j.BuildFailureExitCode != 7 || j.SystemFailureExitCode != 8 {
		t.Fatalf("%+v %v", j, err)
	}
	if _, err := JobFromEnv(envOf(map[string]string{})); err == nil || !strings.Contains(err.Error(), "CUSTOM_ENV_CI_JOB_ID") {
		t.Errorf("missing job id: %v", err)
	}
	env["SYSTEM_FAILURE_EXIT_CODE"] = "two"
	if _, err := JobFromEnv(envOf(env)); err == nil {
		t.Errorf("bad exit code accepted")
	}
}

func TestExitCodeMapping(t *testing.T) {
	file := filepath.Join(t.TempDir(), "build_exit_code")
	j := &Job{BuildFailureExitCode: 11, SystemFailureExitCode: 12, BuildExitCodeFile: file}
	if got := ExitCode(j, nil); got != 0 {
		t.Errorf("nil -> %d", got)
	}
	if got := ExitCode(j, fmt.Errorf("wrapped: %w", &BuildError{ExitCode: 3})); got != 11 {
		t.Errorf("build error -> %d", got)
	}
	if b, _ := os.ReadFile(file); string(b) != "3\n" {
		t.Errorf("BUILD_EXIT_CODE_FILE = %q", b)
	}
	for _, err := range []error{ErrVMDied, ErrGuestLost, errors.New("anything")} {
		if got := ExitCode(j, err); got != 12 {
			t.Errorf("%v -> %d", err, got)
		}
	}
}

func TestResource(t *testing.T) {
	for _, tc := range []struct {
		v           string
		total, conc int
		want        int
	}{{"", 8, 2, 0}, {"auto", 8, 2, 4}, {"auto", 3, 2, 1}, {"auto", 0, 2, 0}, {"6", 8, 2, 6}} {
		if got := resource(tc.v, tc.total, tc.conc); got != tc.want {
			t.Errorf("resource(%q,%d,%d) = %d, want %d", tc.v, tc.total, tc.conc, got, tc.want)
		}
	}
}

func TestParseVolumesAndDisks(t *testing.T) {
	v, err := parseVolumes([]string{"/data:/opt/data:ro", "/a:/b"})
	if err != nil || len(v) != 2 || !v[0].ReadOnly || v[1].ReadOnly || v[1].Guest != "/b" {
		t.Errorf("volumes %+v %v", v, err)
	}
	for _, bad := range []string{"/a", "/a:/b:rx", "a:/b"} {
		if _, err := parseVolumes([]string{bad}); err == nil {
			t.Errorf("volume %q accepted", bad)
		}
	}
	d, err := parseDisks([]string{"/disk.img:ro,sync=none", "nbd://host:10809/export", "/b.img:caching=cached"})
	if err != nil || len(d) != 3 || !d[0].ReadOnly || d[0].Sync != "none" || d[1].Path != "nbd://host:10809/export" || d[2].Caching != "cached" {
		t.Errorf("disks %+v %v", d, err)
	}
	if _, err := parseDisks([]string{"/x.img:fast"}); err == nil {
		t.Errorf("bad disk option accepted")
	}
	r, err := parseRootDiskOpts("sync=none,caching=cached")
	if err != nil || r != (tart.DiskOptions{Sync: "none", Caching: "cached"}) {
		t.Errorf("root disk %+v %v", r, err)
	}
}

func TestShellFor(t *testing.T) {
	for in, want := range map[string]string{"": "bash:/bin/bash:", "bash": "bash:/bin/bash:", "sh": "sh:/bin/sh:",
		"/opt/homebrew/bin/bash": "bash:/opt/homebrew/bin/bash:", "zsh": "bash:/bin/bash:/bin/zsh", "/bin/zsh": "bash:/bin/bash:/bin/zsh"} {
		sh, err := shellFor(in)
		if err != nil || sh.Name+":"+sh.Path+":"+sh.Login != want {
			t.Errorf("shellFor(%q) = %+v %v", in, sh, err)
		}
	}
	for _, bad := range []string{"fish", "pwsh", "/usr/bin/fish"} {
		if _, err := shellFor(bad); err == nil {
			t.Errorf("shellFor(%q) accepted", bad)
		}
	}
}

func TestRunOptionsNetworking(t *testing.T) {
	st := &Stage{Settings: DefaultSettings()}
	st.Settings.Network, st.Settings.SoftnetAllow = "softnet", []string{"10.0.0.0/8"}
	o, err := st.runOptions(nil, "/log")
	if err != nil || o.Net.Mode != tart.NetSoftnet || o.Net.SoftnetAllow[0] != "10.0.0.0/8" || !o.NoGraphics {
		t.Errorf("softnet: %+v %v", o.Net, err)
	}
	args, err := tart.RunArgs("vm", o)
	if err != nil || !strings.Contains(strings.Join(args, " "), "--net-softnet-allow 10.0.0.0/8") {
		t.Errorf("argv %q %v", args, err)
	}
	st.Settings.Network, st.Settings.BridgedInterfaces = "bridged", []string{"en0"}
	o, _ = st.runOptions(nil, "/log")
	if o.Net.Mode != tart.NetBridged || st.resolver() != tart.ResolverARP {
		t.Errorf("bridged: %+v resolver %q", o.Net, st.resolver())
	}
	st.Settings.Network = "host"
	o, _ = st.runOptions([]Mount{{Tag: "tartan.builds.1", Host: "/h", Guest: "/g"}}, "/log")
	if o.Net.Mode != tart.NetHost || len(o.Dirs) != 1 || o.Dirs[0].Tag != "tartan.builds.1" {
		t.Errorf("host: %+v dirs %+v", o.Net, o.Dirs)
	}
}

func TestMountsArePerJob(t *testing.T) {
	s := DefaultSettings()
	s.HostCacheDir, s.Volumes = "/cache", []string{"/data:/opt/data:ro"}
	ms, err := mountsFor(s, jobPaths{HostBuilds: "/builds"}, "42", false)
	if err != nil || len(ms) != 3 {
		t.Fatalf("%+v %v", ms, err)
	}
	for _, m := range ms {
		if !strings.HasSuffix(m.Tag, ".42") {
			t.Errorf("tag %q is not per job", m.Tag)
		}
	}
	if !ms[2].ReadOnly || ms[2].Guest != "/opt/data" {
		t.Errorf("volume mount %+v", ms[2])
	}
}

// The mount script, run by a real sh with the share visible by name, makes
// the share appear at the exact guest path.
func TestMountScriptLinksShareByName(t *testing.T) {
	dir := t.TempDir()
	byName := filepath.Join(dir, "share")
	if err := os.MkdirAll(byName, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(byName, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := mountScript("linux", []Mount{{Tag: "t", Guest: filepath.Join(dir, "guest", "builds")}})
	// Point the by-name location at our dir (the script quotes it).
	script = strings.ReplaceAll(script, shellQuote(tart.GuestSharePath("linux", "t")), shellQuote(byName))
	cmd := exec.Command("/bin/sh", "-c", "mount() { return 1; }\n"+script) // no bind mounts: fall back to a link
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "guest", "builds", "f")); err != nil || string(b) != "x" {
		t.Errorf("share not visible at the guest path: %v", err)
	}
}

func TestDHCPLeaseCheck(t *testing.T) {
	read := func(xml string, err error) func(string) ([]byte, error) {
		return func(string) ([]byte, error) { return []byte(xml), err }
	}
	short := `<dict><key>bootpd</key><dict><key>DHCPLeaseTimeSecs</key><integer>600</integer></dict></dict>`
	long := `<key>DHCPLeaseTimeSecs</key> <integer>86400</integer>`
	if w := dhcpLeaseCheck("nat", "/p", read(short, nil)); w != "" {
		t.Errorf("600 s warned: %s", w)
	}
	if w := dhcpLeaseCheck("nat", "/p", read(long, nil)); !strings.Contains(w, "86400") {
		t.Errorf("86400 s: %q", w)
	}
	if w := dhcpLeaseCheck("nat", "/p", read("", os.ErrNotExist)); !strings.Contains(w, "DHCPLeaseTimeSecs -int 600") {
		t.Errorf("missing file (bootpd default): %q", w)
	}
	if w := dhcpLeaseCheck("softnet", "/p", read(long, nil)); w != "" {
		t.Errorf("softnet warned: %s", w)
	}
}

func TestOrphanReason(t *testing.T) {
	now := time.Now()
	alive := &Record{JobID: "1", OwnerPID: os.Getpid(), Created: now.Add(-time.Hour)}
	start, _ := processStart(os.Getpid())
	alive.OwnerStart = start
	dead := &Record{JobID: "2", OwnerPID: 1 << 30, Created: now.Add(-time.Hour)}
	young := &Record{JobID: "3", OwnerPID: 1 << 30, Created: now}
	reused := &Record{JobID: "4", OwnerPID: os.Getpid(), OwnerStart: "not-this-process", Created: now.Add(-time.Hour)}
	kept := &Record{JobID: "5", KeepUntil: now.Add(time.Hour)}
	expired := &Record{JobID: "6", KeepUntil: now.Add(-time.Minute)}
	stopped := tart.VMEntry{State: tart.StateStopped, Accessed: now.Add(-time.Hour)}
	running := tart.VMEntry{State: tart.StateRunning, Running: true, Accessed: now.Add(-time.Hour)}
	for _, tc := range []struct {
		name   string
		rec    *Record
		entry  tart.VMEntry
		orphan bool
	}{
		{"live runner", alive, running, false},
		{"runner gone", dead, running, true},
		{"too young", young, running, false},
		{"pid reused", reused, running, true},
		{"kept", kept, stopped, false},
		{"keep expired", expired, stopped, true},
		{"no record, stopped, old", nil, stopped, true},
		{"no record, running", nil, running, false},
	} {
		if got := orphanReason(tc.rec, tc.entry, 10*time.Minute, now) != ""; got != tc.orphan {
			t.Errorf("%s: orphan = %v", tc.name, got)
		}
	}
}

func TestLogMasking(t *testing.T) {
	var b strings.Builder
	l := NewLog(&b)
	l.Mask("s3cr3t", "admin", "s3cr3t-longer", "x")
	l.Printf("a s3cr3t-longer and s3cr3t by the runner admin x")
	w := l.Lines("> ")
	fmt.Fprint(w, "line s3cr3t\npartial")
	w.Close()
	want := "a [MASKED] and [MASKED] by the runner admin x\n> line [MASKED]\n> partial\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestParseRunnerVersion(t *testing.T) {
	if v := parseRunnerVersion("Version:      17.9.0\nGit revision: abc\n"); v != "17.9.0" {
		t.Errorf("got %q", v)
	}
	st := &Stage{Settings: DefaultSettings(), Job: &Job{RunnerVersion: "v17.9.0~pre.1.g123"}}
	if v := st.guestRunnerVersion(); v != "17.9.0" {
		t.Errorf("version from CI_RUNNER_VERSION: %q", v)
	}
}

func TestKeychainUnlockKeepsPasswordOffTheCommandLine(t *testing.T) {
	for _, a := range keychainUnlockArgv() {
		if a == "-p" {
			t.Fatalf("argv %q passes the password", keychainUnlockArgv())
		}
	}
}

func TestStateRecordRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if _, err := loadRecord(dir, "vm"); !errors.Is(err, ErrNoState) {
		t.Fatalf("missing record: %v", err)
	}
	r := &Record{VM: "vm", JobID: "1", OwnerPID: 5, Created: time.Now().UTC().Truncate(time.Second)}
	if err := saveRecord(dir, r); err != nil {
		t.Fatal(err)
	}
	if err := updateRecord(dir, "vm", func(r *Record) { r.Failed = true }); err != nil {
		t.Fatal(err)
	}
	got, err := loadRecord(dir, "vm")
	if err != nil || !got.Failed || got.OwnerPID != 5 || !got.Created.Equal(r.Created) {
		t.Fatalf("%+v %v", got, err)
	}
	if err := removeJobState(dir, "vm"); err != nil {
		t.Fatal(err)
	}
	if _, err := loadRecord(dir, "vm"); !errors.Is(err, ErrNoState) {
		t.Fatalf("after remove: %v", err)
	}
}

func TestSetOptionsAlwaysRandomMAC(t *testing.T) {
	st := &Stage{Settings: DefaultSettings()}
	st.Settings.CPU, st.Settings.Memory, st.Settings.DiskSize, st.Settings.Display = "6", "", 80, "1920x1200"
	o := st.setOptions()
	if !o.RandomMAC || o.CPU != 6 || o.MemoryMB != 0 || o.DiskSizeGB != 80 || o.Display != "1920x1200" {
		t.Errorf("%+v", o)
	}
}

func TestProcessInfo(t *testing.T) {
	comm, ppid, ok := processInfo(os.Getpid())
	if !ok || ppid != os.Getppid() || comm == "" {
		t.Errorf("processInfo(self) = %q %d %v", comm, ppid, ok)
	}
	if _, _, ok := processInfo(1 << 30); ok {
		t.Errorf("processInfo of a missing pid succeeded")
	}
}

func TestJobPayloadIsTrustedOverVariables(t *testing.T) {
	dir := t.TempDir()
	resp := filepath.Join(dir, "response.json")
	write := func(body string) {
		if err := os.WriteFile(resp, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"CUSTOM_ENV_CI_JOB_ID": "77", "CUSTOM_ENV_CI_SERVER_URL": "https://spoofed.example.org", "JOB_RESPONSE_FILE": resp}
	write(`{"id": 77, "git_info": {"repo_url": "https://gitlab-ci-token:secret@gitlab.example.com/group/p.git"}}`)
	j, err := JobFromEnv(envOf(env))
	if err != nil || j.ServerURL != "https://gitlab.example.com" {
		t.Fatalf("server from payload: %q %v", j.ServerURL, err)
	}
	write(`{"id": 78}`)
	if _, err := JobFromEnv(envOf(env)); err == nil || !strings.Contains(err.Error(), "may not override CI_JOB_ID") {
		t.Fatalf("overridden job id: %v", err)
	}
	write(`not json`)
	if _, err := JobFromEnv(envOf(env)); err == nil {
		t.Fatalf("garbage payload accepted")
	}
}

func TestEnsureSharedDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	if err := ensureSharedDir(dir); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, filepath.Dir(dir)} {
		st, err := os.Stat(d)
		if err != nil || st.Mode()&os.ModeSticky == 0 || st.Mode().Perm() != 0o777 {
			t.Errorf("%s: %v %v", d, st.Mode(), err)
		}
	}
}

func TestInsecureRegistry(t *testing.T) {
	s := DefaultSettings()
	s.InsecureRegistries = []string{"registry.local:5000", "*.lab.internal"}
	for img, want := range map[string]bool{
		"registry.local:5000/macos:1": true, "cache.lab.internal/x/y": true, "ghcr.io/a/b": false, "local-vm": false,
	} {
		if got := insecureRegistry(s, img); got != want {
			t.Errorf("insecureRegistry(%q) = %v", img, got)
		}
	}
}

func TestTimezoneScript(t *testing.T) {
	s := timezoneScript("America/Los_Angeles")
	for _, want := range []string{"systemsetup -settimezone America/Los_Angeles", "timedatectl set-timezone America/Los_Angeles", "sudo -n"} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
	if !strings.Contains(timezoneScript("x'; rm -rf /"), `'x'\''; rm -rf /'`) {
		t.Errorf("zone not quoted")
	}
	if out, err := exec.Command("/bin/sh", "-n", "-c", s).CombinedOutput(); err != nil {
		t.Errorf("not valid sh: %v %s", err, out)
	}
}

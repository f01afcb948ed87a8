package tartsim_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestPullProgressAndCache(t *testing.T) {
	s := newSim(t)
	out := s.must("pull", linuxImage)
	want := "pulling ghcr.io/cirruslabs/ubuntu:latest...\npulling manifest...\npulling disk (8.0 GB compressed)...\n" +
		"0%\n10%\n20%\n30%\n40%\n50%\n60%\n70%\n80%\n90%\n100%\npulling NVRAM...\n"
	if out != want {
		t.Fatalf("pull output:\n%q\nwant\n%q", out, want)
	}
	out = s.must("pull", linuxImage)
	if !regexp.MustCompile(`^pulling ghcr.io/cirruslabs/ubuntu:latest...\npulling manifest...\nghcr.io/cirruslabs/ubuntu@sha256:[0-9a-f]{64} image is already cached and linked!\n$`).MatchString(out) {
		t.Fatalf("cached pull: %q", out)
	}
	// Layout: tag symlink -> sibling digest directory.
	link := filepath.Join(s.home, "cache", "OCIs", "ghcr.io", "cirruslabs", "ubuntu", "latest")
	target, err := os.Readlink(link)
	if err != nil || !filepath.IsAbs(target) || !strings.HasPrefix(filepath.Base(target), "sha256:") {
		t.Fatalf("tag link %q %v", target, err)
	}
	fqn := strings.TrimSpace(s.must("fqn", linuxImage))
	if fqn != "ghcr.io/cirruslabs/ubuntu@"+filepath.Base(target) {
		t.Fatalf("fqn %q", fqn)
	}
	s.expect(s.tart("fqn", "ghcr.io/cirruslabs/ubuntu:other"), 1,
		"OCI storage error: ghcr.io/cirruslabs/ubuntu:other is not a digest and doesn't point to a digest\n")
	if out := s.must("fqn", "localvm"); out != "localvm\n" {
		t.Fatalf("fqn local %q", out)
	}
	// Pulling by digest is served from the cache.
	if out := s.must("pull", fqn); !strings.Contains(out, "image is already cached and linked!") {
		t.Fatalf("digest pull %q", out)
	}
}

func TestPullWithoutCIOverwritesProgress(t *testing.T) {
	s := newSim(t)
	var env []string
	for _, kv := range s.env {
		if !strings.HasPrefix(kv, "CI=") {
			env = append(env, kv)
		}
	}
	s.env = env
	out := s.must("pull", linuxImage)
	if !strings.Contains(out, "0%\n\x1b[1A\r\x1b[J10%\n") || !strings.Contains(out, "\x1b[1A\r\x1b[J100%\n") {
		t.Fatalf("want ANSI in-place progress, got %q", out)
	}
}

func TestPullErrors(t *testing.T) {
	s := newSim(t)
	r := s.tart("pull", "ghcr.io/nobody/nothing:1")
	s.expect(r, 1, `Error: UnexpectedHTTPStatusCode(when: "pulling manifest", code: 404, details: "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}")`+"\n")
	s.expect(s.tart("pull", "notremote"), 1, "failed to parse remote name: notremote\n")
	r = s.tart("pull", linuxImage, "--concurrency", "0")
	if r.code != 64 || !strings.HasPrefix(r.stderr, "Error: network concurrency cannot be less than 1\nUsage: tart pull") {
		t.Fatalf("concurrency 0: %v", r)
	}

	r = s.tartEnv([]string{"TART_SIM_PULL_FAIL=1"}, "pull", linuxImage)
	if r.code != 1 || r.stderr != "Error: The network connection was lost.\n" {
		t.Fatalf("pull fail: %v", r)
	}
	if n := strings.Count(r.stdout, "Error pulling image: \"The network connection was lost.\", attempting to re-try...\n"); n != 4 {
		t.Fatalf("want 4 retry lines, got %d:\n%s", n, r.stdout)
	}
	if !strings.Contains(r.stdout, "40%\n") || strings.Contains(r.stdout, "100%") {
		t.Fatalf("progress should stop midway: %q", r.stdout)
	}
	if got := s.must("list", "--source", "oci", "-q"); got != "" {
		t.Fatalf("failed pull left cache entries: %q", got)
	}

	full := `Error: Error Domain=NSPOSIXErrorDomain Code=28 "No space left on device"` + "\n"
	s.expect(s.tartEnv([]string{"TART_SIM_DISK_FULL=1"}, "pull", linuxImage), 1, full)
	s.must("pull", linuxImage)
	s.expect(s.tartEnv([]string{"TART_SIM_DISK_FULL=1"}, "clone", linuxImage, "vm"), 1, full)
	if st := s.state("vm"); st != "absent" {
		t.Fatalf("failed clone left a VM: %s", st)
	}
}

func TestPullLocalImage(t *testing.T) {
	s := newSim(t)
	s.must("clone", linuxImage, "vm")
	if out := s.must("pull", "vm"); out != "\"vm\" is a local image, nothing to pull here!\n" {
		t.Fatalf("%q", out)
	}
}

func TestPrivateImage(t *testing.T) {
	catalog := filepath.Join(t.TempDir(), "catalog.json")
	if err := os.WriteFile(catalog, []byte(`[{"name":"registry.example.com:5000/team/xcode:16","os":"darwin",
		"disk_gb":60,"cpu":6,"memory_mb":12288,"user":"runner","password":"pw",
		"credentials":{"username":"ci","password":"s3cret"}}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newSim(t, "TART_SIM_CATALOG="+catalog)
	const img = "registry.example.com:5000/team/xcode:16"
	authErr := `Error: AuthFailed(why: "received unexpected HTTP status code 401 while retrieving an authentication token", details: "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}")` + "\n"
	s.expect(s.tart("pull", img), 1, authErr)
	s.expect(s.tartEnv([]string{"TART_REGISTRY_USERNAME=ci", "TART_REGISTRY_PASSWORD=wrong"}, "pull", img), 1, authErr)
	s.expect(s.tartEnv([]string{"TART_REGISTRY_USERNAME=ci", "TART_REGISTRY_PASSWORD=s3cret", "TART_REGISTRY_HOSTNAME=other.io"}, "pull", img), 1, authErr)
	s.expect(s.tartEnv([]string{"TART_REGISTRY_USERNAME=ci", "TART_REGISTRY_PASSWORD=s3cret", "TART_REGISTRY_HOSTNAME=registry.example.com:5000"}, "clone", img, "x"), 0, "")
	if _, err := os.Stat(filepath.Join(s.home, "cache", "OCIs", "registry.example.com%3A5000", "team", "xcode", "16")); err != nil {
		t.Fatalf("host with port must be percent-encoded in the cache: %v", err)
	}
	out := s.must("get", "x", "--format", "json")
	for _, want := range []string{`"CPU" : 6`, `"Memory" : 12288`, `"Disk" : 60`, `"OS" : "darwin"`} {
		if !strings.Contains(out, want) {
			t.Errorf("get lacks %s:\n%s", want, out)
		}
	}
	// Built-in images stay available.
	s.must("pull", linuxImage)
}

func TestBadCatalog(t *testing.T) {
	catalog := filepath.Join(t.TempDir(), "catalog.json")
	if err := os.WriteFile(catalog, []byte(`{"images": [{"name": "a.io/b/c", "os": "windows"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newSim(t, "TART_SIM_CATALOG="+catalog)
	r := s.tart("pull", "a.io/b/c")
	if r.code != 1 || !strings.Contains(r.stderr, `os must be "darwin" or "linux"`) {
		t.Fatalf("%v", r)
	}
}

// With little free space, pull and clone prune least recently used cache
// entries, unless TART_NO_AUTO_PRUNE is present.
func TestAutoPrune(t *testing.T) {
	catalog := filepath.Join(t.TempDir(), "catalog.json")
	if err := os.WriteFile(catalog, []byte(`[{"name":"r.io/a/one:1","os":"linux","disk_gb":30},
		{"name":"r.io/a/two:1","os":"linux","disk_gb":30}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newSim(t, "TART_SIM_CATALOG="+catalog, "TART_SIM_FREE_SPACE_GB=40")
	s.must("pull", "r.io/a/one:1")
	// two needs 30 GB + 128 MiB with only 30 GB free: one would be pruned...
	s.tartEnv([]string{"TART_SIM_FREE_SPACE_GB=30", "TART_NO_AUTO_PRUNE="}, "pull", "r.io/a/two:1")
	if out := s.must("list", "--source", "oci", "-q"); !strings.Contains(out, "r.io/a/one:1") || !strings.Contains(out, "r.io/a/two:1") {
		t.Fatalf("TART_NO_AUTO_PRUNE (even empty) must keep the cache: %q", out)
	}
	// ...and is, without TART_NO_AUTO_PRUNE.
	s.must("delete", "r.io/a/two:1")
	s.tartEnv([]string{"TART_SIM_FREE_SPACE_GB=30"}, "pull", "r.io/a/two:1")
	if out := s.must("list", "--source", "oci", "-q"); strings.Contains(out, "r.io/a/one:1") || !strings.Contains(out, "r.io/a/two:1") {
		t.Fatalf("want the least recently used image pruned:\n%s", out)
	}
	// A clone needing more than the free space prunes too, but never its source.
	s.must("pull", "r.io/a/one:1")
	r := s.tartEnv([]string{"TART_SIM_FREE_SPACE_GB=10"}, "clone", "r.io/a/one:1", "vm")
	if r.code != 0 {
		t.Fatalf("clone: %v", r)
	}
	if out := s.must("list", "--source", "oci", "-q"); !strings.Contains(out, "r.io/a/one:1") || strings.Contains(out, "r.io/a/two:1") {
		t.Fatalf("clone auto-prune:\n%s", out)
	}
}

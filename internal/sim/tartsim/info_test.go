package tartsim_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

func TestListAndGetFormats(t *testing.T) {
	s := newSim(t)
	if out := s.must("list"); out != "\n" {
		t.Fatalf("empty text list %q", out)
	}
	if out := s.must("list", "--format", "json"); out != "[\n\n]\n" {
		t.Fatalf("empty json list %q", out)
	}
	if out := s.must("list", "-q"); out != "" {
		t.Fatalf("empty quiet list %q", out)
	}
	s.must("clone", linuxImage, "runner-1")
	s.must("clone", linuxImage, "b")

	out := s.must("list")
	lines := strings.Split(out, "\n")
	re := regexp.MustCompile(`^Source Name +Disk Size Accessed +State  $`)
	if !re.MatchString(lines[0]) {
		t.Fatalf("header %q", lines[0])
	}
	if len(lines) != 6 || lines[5] != "" || !strings.HasPrefix(lines[1], "local  b ") ||
		!strings.HasPrefix(lines[3], "OCI    ghcr.io/cirruslabs/ubuntu:latest ") ||
		!strings.HasPrefix(lines[4], "OCI    ghcr.io/cirruslabs/ubuntu@sha256:") {
		t.Fatalf("list text:\n%s", out)
	}
	if strings.HasSuffix(lines[4], " ") || !strings.HasSuffix(lines[4], " stopped") {
		t.Fatalf("last row must be trimmed: %q", lines[4])
	}

	raw := s.must("list", "--format", "json")
	if !strings.Contains(raw, `"Name" : "ghcr.io\/cirruslabs\/ubuntu:latest"`) {
		t.Fatalf("json must escape / and use \" : \":\n%s", raw)
	}
	var l []map[string]any
	if err := json.Unmarshal([]byte(raw), &l); err != nil {
		t.Fatal(err)
	}
	if len(l) != 4 || l[0]["Source"] != "local" || l[2]["Source"] != "OCI" {
		t.Fatalf("entries %v", l)
	}
	for _, e := range l {
		if _, ok := e["Size"].(float64); !ok {
			t.Errorf("list Size must be a number: %v", e)
		}
		if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(e["Accessed"].(string)) {
			t.Errorf("Accessed %v", e["Accessed"])
		}
	}
	if out := s.must("list", "--source", "local", "-q"); out != "b\nrunner-1\n" {
		t.Fatalf("quiet local %q", out)
	}
	r := s.tart("list", "--source", "remote")
	if r.code != 64 || !strings.HasPrefix(r.stderr, "Error: 'remote' is not a valid <source>\n") {
		t.Fatalf("%v", r)
	}

	out = s.must("get", "b")
	if out != "OS    CPU Memory Disk DiskFormat Size  Display  State  \nlinux 4   4096   20   raw        0.000 1024x768 stopped\n" {
		t.Fatalf("get text %q", out)
	}
	var g map[string]any
	if err := json.Unmarshal([]byte(s.must("get", "b", "--format", "json")), &g); err != nil {
		t.Fatal(err)
	}
	if g["Size"] != "0.000" || g["State"] != "stopped" || g["Running"] != false || g["Display"] != "1024x768" {
		t.Fatalf("get json %v", g)
	}
}

func TestConfigJSONOnDisk(t *testing.T) {
	s := newSim(t)
	s.must("clone", macImage, "m")
	b, err := os.ReadFile(filepath.Join(s.home, "vms", "m", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"version" : 1`, `"os" : "darwin"`, `"arch" : "arm64"`, `"memorySize" : 8589934592`,
		`"display" : {`, `"diskFormat" : "raw"`, `"ecid" : `, `"hardwareModel" : "`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("config.json lacks %s:\n%s", want, b)
		}
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(s.home, "vms", "m", "disk.img"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != 50_000_000_000 || st.Blocks*512 > 1<<20 {
		t.Fatalf("disk.img must be sparse 50e9 bytes: size %d allocated %d", st.Size, st.Blocks*512)
	}
}

func TestSet(t *testing.T) {
	s := newSim(t)
	s.must("clone", linuxImage, "vm")
	before := s.must("get", "vm", "--format", "json")
	cfgPath := filepath.Join(s.home, "vms", "vm", "config.json")
	mac := func() string {
		var c struct{ MacAddress string }
		b, _ := os.ReadFile(cfgPath)
		_ = json.Unmarshal(b, &c)
		return c.MacAddress
	}
	oldMAC := mac()
	s.expect(s.tart("set", "vm", "--cpu", "8", "--memory", "8192", "--display", "1920x1080px", "--display-refit", "--random-mac", "--disk-size", "30"), 0, "")
	var g map[string]any
	_ = json.Unmarshal([]byte(s.must("get", "vm", "--format", "json")), &g)
	if g["CPU"] != 8.0 || g["Memory"] != 8192.0 || g["Display"] != "1920x1080px" || g["Disk"] != 30.0 {
		t.Fatalf("after set: %v (before %s)", g, before)
	}
	if mac() == oldMAC {
		t.Fatal("--random-mac kept the MAC")
	}
	b, _ := os.ReadFile(cfgPath)
	if !strings.Contains(string(b), `"displayRefit" : true`) {
		t.Fatalf("displayRefit missing:\n%s", b)
	}
	s.must("set", "vm", "--cpu", "8")
	if b, _ := os.ReadFile(cfgPath); strings.Contains(string(b), "displayRefit") {
		t.Fatal("every set without --display-refit must remove the key")
	}
	s.expect(s.tart("set", "vm", "--disk-size", "10"), 1, "new disk size of 10 GB should be larger than the current disk size of 30 GB\n")
	s.expect(s.tart("set", "vm", "--cpu", "1"), 1, "Error: LessThanMinimalResourcesError: VM should have 4 CPU cores at minimum (requested 1)\n")
	s.expect(s.tart("set", "nope", "--cpu", "4"), 2, "the specified VM \"nope\" does not exist\n")
}

func TestDeleteRenameClone(t *testing.T) {
	s := newSim(t)
	s.must("clone", linuxImage, "a")
	s.must("clone", "a", "b")
	// delete processes names in order and stops at the first error.
	s.expect(s.tart("delete", "a", "missing", "b"), 2, "the specified VM \"missing\" does not exist\n")
	if s.state("a") != "absent" || s.state("b") != "stopped" {
		t.Fatal("delete order")
	}
	r := s.tart("rename", "b", "a/x")
	s.expect(r, 64, "Error: <new-name> should be a local name\nUsage: tart <subcommand>\n  See 'tart --help' for more information.\n")
	s.expect(s.tart("rename", "zz", "c"), 64, "Error: failed to rename a non-existent local VM: zz\nUsage: tart <subcommand>\n  See 'tart --help' for more information.\n")
	s.must("clone", "b", "c")
	s.expect(s.tart("rename", "b", "c"), 64, "Error: failed to rename VM b, target VM c already exists, delete it first!\nUsage: tart <subcommand>\n  See 'tart --help' for more information.\n")
	s.must("set", "c", "--cpu", "7")
	s.must("clone", "b", "c") // clone silently overwrites
	if out := s.must("get", "c"); !strings.Contains(out, "linux 4 ") {
		t.Fatalf("clone did not overwrite: %s", out)
	}
	s.must("rename", "b", "d")
	s.expect(s.tart("clone", "missing", "e"), 2, "the specified VM \"missing\" does not exist\n")
	// Deleting an OCI tag removes the unreferenced digest too.
	s.must("delete", linuxImage)
	if out := s.must("list", "--source", "oci", "-q"); out != "" {
		t.Fatalf("oci left: %q", out)
	}
}

func TestUsageErrors(t *testing.T) {
	s := newSim(t)
	s.expect(s.tart("get"), 64, "Error: Missing expected argument '<name>'\nUsage: tart get <name> [--format <format>]\n  See 'tart get --help' for more information.\n")
	s.expect(s.tart("ip", "vm", "--resolver", "x"), 64, "Error: The value 'x' is invalid for '--resolver <resolver>'. Please provide one of 'dhcp', 'arp' or 'agent'.\n"+
		"Usage: tart ip <name> [--wait <wait>] [--resolver <resolver>]\n  See 'tart ip --help' for more information.\n")
	s.expect(s.tart("frobnicate"), 64, "Error: Unexpected argument 'frobnicate'\nUsage: tart <subcommand>\n  See 'tart --help' for more information.\n")
	r := s.tart("stop", "--foo", "vm")
	if r.code != 64 || !strings.HasPrefix(r.stderr, "Error: Unknown option '--foo'\nUsage: tart stop") {
		t.Fatalf("%v", r)
	}
	if r := s.tart("--help"); r.code != 0 || !strings.Contains(r.stdout, "clone") || strings.Contains(r.stdout, "fqn") {
		t.Fatalf("help %v", r)
	}
	if r := s.tart("run", "--help"); r.code != 0 || !strings.Contains(r.stdout, "--net-softnet-expose") {
		t.Fatalf("run help %v", r)
	}
	s.expect(s.tart("create", "x"), 64, "Error: Please specify either a --from-ipsw or --linux option!\nUsage: tart create <name> [--from-ipsw <path>] [--linux] [--disk-size <disk-size>] [--disk-format <disk-format>]\n  See 'tart create --help' for more information.\n")
	s.must("create", "x", "--linux", "--disk-size=10")
	if out := s.must("get", "x"); !strings.HasPrefix(out, "OS    CPU Memory Disk") || !strings.Contains(out, "linux 4   4096   10 ") {
		t.Fatalf("create: %q", out)
	}
	s.expect(s.tart("prune"), 64, "Error: at least one pruning criteria must be specified\nUsage: tart <subcommand>\n  See 'tart --help' for more information.\n")
}

func TestPrune(t *testing.T) {
	s := newSim(t)
	s.must("pull", linuxImage)
	s.must("clone", linuxImage, "vm")
	s.must("prune", "--older-than", "0")
	if out := s.must("list", "--source", "oci", "-q"); out != "" {
		t.Fatalf("caches not pruned: %q", out)
	}
	if s.state("vm") != "stopped" {
		t.Fatal("prune of caches removed a VM")
	}
	s.must("prune", "--entries", "vms", "--space-budget", "0")
	if s.state("vm") != "absent" {
		t.Fatal("vm not pruned")
	}
}

package tartsim

import (
	"errors"
	"strings"
	"testing"
)

func TestBuildRunConfigValidation(t *testing.T) {
	dir := t.TempDir()
	c := lookupCommand("run")
	cases := []struct {
		os       string
		argv     []string
		usage    bool // exit 64
		root     bool // root usage block
		failure  bool // "Error: " exit 1
		runtime  bool // no prefix exit 1
		contains string
	}{
		{os: "linux", argv: []string{"--net-bridged", "en0", "--net-softnet"}, usage: true, contains: "--net-bridged, --net-softnet and --net-host are mutually exclusive"},
		{os: "linux", argv: []string{"--net-softnet-allow", "10.0.0.0/8", "--net-host"}, usage: true, contains: "mutually exclusive"},
		{os: "linux", argv: []string{"--suspendable"}, usage: true, contains: "You can only suspend macOS VMs"},
		{os: "darwin", argv: []string{"--nested"}, failure: true, contains: "macOS virtual machines do not support nested virtualization"},
		{os: "linux", argv: []string{"--no-trackpad"}, usage: true, contains: "--no-trackpad can only be used with macOS VMs"},
		{os: "darwin", argv: []string{"--vnc", "--vnc-experimental"}, usage: true},
		{os: "darwin", argv: []string{"--graphics", "--no-graphics"}, usage: true},
		{os: "darwin", argv: []string{"--capture-system-keys", "--no-graphics"}, usage: true, contains: "--captures-system-keys can only be used with the default VM view"},
		{os: "linux", argv: []string{"--dir", dir, "--dir", dir}, usage: true, root: true, contains: "invalid --dir syntax: for multiple directory shares each one of them should be named"},
		{os: "linux", argv: []string{"--dir", dir + "/missing"}, failure: true},
		{os: "linux", argv: []string{"--root-disk-opts", "sync=sometimes"}, runtime: true, contains: `unsupported disk image synchronization mode: "sometimes"`},
		{os: "linux", argv: []string{"--root-disk-opts", "caching=maybe"}, runtime: true, contains: `unsupported disk image caching mode: "maybe"`},
		{os: "linux", argv: []string{"--disk", "/tmp/debian-amd64.iso"}, usage: true},
		{os: "linux", argv: []string{"--net-bridged", "list"}, usage: true, root: true, contains: `no bridge interfaces matched "["list"]", available interfaces: ["en0 (or \"Ethernet\")", "en1 (or \"Wi-Fi\")"]`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.argv, " "), func(t *testing.T) {
			p, err := c.parse(append([]string{"vm"}, tc.argv...))
			if err != nil {
				t.Fatal(err)
			}
			_, err = buildRunConfig(c, p, tc.os, nil)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("message %q lacks %q", err, tc.contains)
			}
			var ue *usageError
			var fe *failure
			var re *runtimeError
			switch {
			case tc.usage:
				if !errors.As(err, &ue) || (ue.cmd == nil) != tc.root {
					t.Errorf("want usage error (root=%v), got %T %v", tc.root, err, err)
				}
			case tc.failure:
				if !errors.As(err, &fe) {
					t.Errorf("want failure, got %T", err)
				}
			case tc.runtime:
				if !errors.As(err, &re) || re.code != exitFailure {
					t.Errorf("want runtime exit 1, got %T", err)
				}
			}
		})
	}
}

func TestBuildRunConfigRecordsOptions(t *testing.T) {
	dir := t.TempDir()
	c := lookupCommand("run")
	p, err := c.parse([]string{"vm", "--dir", "cache:" + dir + ":ro,tag=build", "--dir", "src:" + dir,
		"--net-softnet-allow", "10.0.0.0/8", "--net-softnet-expose", "2222:22", "--disk", dir + ":ro,sync=none",
		"--root-disk-opts", "caching=uncached"})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := buildRunConfig(c, p, "linux", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rc.Dirs) != 2 || rc.Dirs[0] != (runShare{Name: "cache", Path: dir, ReadOnly: true, Tag: "build"}) ||
		rc.Dirs[1] != (runShare{Name: "src", Path: dir, Tag: defaultShareTag}) {
		t.Errorf("dirs = %+v", rc.Dirs)
	}
	if rc.Net.Mode != "softnet" || rc.Net.SoftnetAllow != "10.0.0.0/8" || rc.Net.SoftnetExpose != "2222:22" {
		t.Errorf("net = %+v", rc.Net)
	}
	if len(rc.Disks) != 1 || !rc.Disks[0].ReadOnly || rc.Disks[0].Sync != "none" {
		t.Errorf("disks = %+v", rc.Disks)
	}
	if rc.RootDisk.Caching != "uncached" || rc.RootDisk.Sync != "full" {
		t.Errorf("root disk = %+v", rc.RootDisk)
	}
}

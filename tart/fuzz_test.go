package tart

import (
	"errors"
	"testing"
)

// Bad input must give an error, never a panic.

func FuzzParseVMList(f *testing.F) {
	f.Add([]byte(`[{"Name":"a","Size":1,"Accessed":"2026-05-12T09:41:07Z"}]`))
	f.Add([]byte(`[{"Size":"1.5"}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseVMList(b)
		_, _ = ParseVMInfo(b)
	})
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"2.32.1", "SNAPSHOT", "v1.2", "1.2.3-4-gabc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := ParseVersion(s); err == nil {
			_ = v.String()
		}
	})
}

func FuzzRunArgs(f *testing.F) {
	f.Add("vm", "src", "/src", "tag", "/d.img", "none", "cached", "10.0.0.0/8", "2222:22", "en0")
	f.Fuzz(func(t *testing.T, name, shareName, sharePath, tag, disk, sync, caching, cidr, expose, bridge string) {
		for _, o := range []RunOptions{
			{Dirs: []Share{{Name: shareName, Path: sharePath, Tag: tag}}, Disks: []Disk{{Path: disk, Sync: sync, Caching: caching}}},
			{Net: Network{SoftnetAllow: []string{cidr}, SoftnetExpose: []string{expose}}},
			{Net: Network{Bridged: []string{bridge}}, RootDisk: DiskOptions{Sync: sync, Caching: caching}},
		} {
			if _, err := RunArgs(name, o); err != nil && !errors.Is(err, ErrUsage) {
				t.Fatalf("error not ErrUsage: %v", err)
			}
		}
	})
}

func FuzzClassify(f *testing.F) {
	f.Add(2, "the specified VM \"x\" does not exist\n")
	f.Add(64, "Error: Unknown option '--x'\nUsage: tart\n")
	f.Fuzz(func(t *testing.T, code int, stderr string) {
		if c := classify(code, stderr); c.kind == nil {
			t.Fatal("no class")
		}
		_, _ = execTartFailure(code, stderr)
		_ = RedactArgs([]string{"exec", stderr, stderr})
		_ = RedactArgs([]string{stderr})
	})
}

package tart

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestRunArgsBuildsEveryFlag(t *testing.T) {
	tests := []struct {
		name string
		o    RunOptions
		want []string
	}{
		{"bare", RunOptions{}, []string{"run", "vm"}},
		{"headless", RunOptions{NoGraphics: true}, []string{"run", "vm", "--no-graphics"}},
		{"graphics with vnc", RunOptions{Graphics: true, VNC: true}, []string{"run", "vm", "--graphics", "--vnc"}},
		{"vnc experimental", RunOptions{VNCExperimental: true, NoGraphics: true}, []string{"run", "vm", "--no-graphics", "--vnc-experimental"}},
		{"switches", RunOptions{Recovery: true, Serial: true, NoAudio: true, NoClipboard: true, Suspendable: true},
			[]string{"run", "vm", "--recovery", "--serial", "--no-audio", "--no-clipboard", "--suspendable"}},
		{"linux extras", RunOptions{Nested: true, Rosetta: "rosetta", NoKeyboard: true, NoPointer: true},
			[]string{"run", "vm", "--nested", "--no-keyboard", "--no-pointer", "--rosetta", "rosetta"}},
		{"serial path", RunOptions{SerialPath: "/dev/ttys003"}, []string{"run", "vm", "--serial-path", "/dev/ttys003"}},
		{"unnamed share", RunOptions{Dirs: []Share{{Path: "/src"}}}, []string{"run", "vm", "--dir", "/src"}},
		{"named ro tagged shares", RunOptions{Dirs: []Share{
			{Name: "build", Path: "/b", ReadOnly: true},
			{Name: "cache", Path: "/c", Tag: "cachetag"},
			{Name: "src", Path: "/s", ReadOnly: true, Tag: "t2"},
		}}, []string{"run", "vm", "--dir", "build:/b:ro", "--dir", "cache:/c:tag=cachetag", "--dir", "src:/s:ro,tag=t2"}},
		{"url share", RunOptions{Dirs: []Share{{Name: "w", Path: "https://example.com/a.tar.gz"}}},
			[]string{"run", "vm", "--dir", "w:https://example.com/a.tar.gz"}},
		{"two unnamed shares with different tags", RunOptions{Dirs: []Share{{Path: "/a", Tag: "x"}, {Path: "/b", Tag: "y"}}},
			[]string{"run", "vm", "--dir", "/a:tag=x", "--dir", "/b:tag=y"}},
		{"disks", RunOptions{Disks: []Disk{
			{Path: "/d.img"},
			{Path: "/e.img", ReadOnly: true, Sync: SyncFsync, Caching: CachingUncached},
			{Path: "/dev/disk4", Sync: SyncNone},
			{Path: "nbd://nas:10809/x", Sync: SyncFull},
			{Path: "ghcr.io/org/data:1.0", ReadOnly: true},
		}}, []string{"run", "vm", "--disk", "/d.img", "--disk", "/e.img:ro,sync=fsync,caching=uncached",
			"--disk", "/dev/disk4:sync=none", "--disk", "nbd://nas:10809/x:sync=full", "--disk", "ghcr.io/org/data:1.0:ro"}},
		{"root disk", RunOptions{RootDisk: DiskOptions{Sync: SyncNone, Caching: CachingCached}},
			[]string{"run", "vm", "--root-disk-opts", "sync=none,caching=cached"}},
		{"bridged inferred", RunOptions{Net: Network{Bridged: []string{"en0", "Wi-Fi"}}},
			[]string{"run", "vm", "--net-bridged", "en0", "--net-bridged", "Wi-Fi"}},
		{"softnet plain", RunOptions{Net: Network{Mode: NetSoftnet}}, []string{"run", "vm", "--net-softnet"}},
		{"softnet options", RunOptions{Net: Network{
			SoftnetAllow: []string{"10.0.0.0/8", "192.168.1.0/24"}, SoftnetBlock: []string{"0.0.0.0/0"}, SoftnetExpose: []string{"2222:22", "8080:80"},
		}}, []string{"run", "vm", "--net-softnet", "--net-softnet-allow", "10.0.0.0/8,192.168.1.0/24",
			"--net-softnet-block", "0.0.0.0/0", "--net-softnet-expose", "2222:22,8080:80"}},
		{"host", RunOptions{Net: Network{Mode: NetHost}}, []string{"run", "vm", "--net-host"}},
		{"shared explicit", RunOptions{Net: Network{Mode: "shared"}}, []string{"run", "vm"}},
		{"log and files are not flags", RunOptions{LogPath: "/tmp/x.log"}, []string{"run", "vm"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RunArgs("vm", tt.o)
			if err != nil {
				t.Fatalf("RunArgs: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("RunArgs\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestRunArgsRejectsWhatTartRejects(t *testing.T) {
	tests := []struct {
		name    string
		vm      string
		o       RunOptions
		wantMsg string
	}{
		{"empty name", "", RunOptions{}, "VM name is empty"},
		{"option-like name", "--help", RunOptions{}, "would be read as an option"},
		{"graphics conflict", "vm", RunOptions{Graphics: true, NoGraphics: true}, "Graphics and NoGraphics"},
		{"vnc conflict", "vm", RunOptions{VNC: true, VNCExperimental: true}, "VNC and VNCExperimental"},
		{"serial conflict", "vm", RunOptions{Serial: true, SerialPath: "/dev/x"}, "Serial and SerialPath"},
		{"suspendable no-trackpad", "vm", RunOptions{Suspendable: true, NoTrackpad: true}, "Suspendable cannot"},
		{"suspendable nested", "vm", RunOptions{Suspendable: true, Nested: true}, "Nested"},
		{"capture keys headless", "vm", RunOptions{CaptureSystemKeys: true, NoGraphics: true}, "default VM window"},
		{"share name with comma", "vm", RunOptions{Dirs: []Share{{Name: "a,b", Path: "/x"}}}, "must not contain ','"},
		{"share name with colon", "vm", RunOptions{Dirs: []Share{{Name: "a:b", Path: "/x"}}}, "must not contain"},
		{"share empty path", "vm", RunOptions{Dirs: []Share{{Name: "a"}}}, "path is empty"},
		{"share relative path", "vm", RunOptions{Dirs: []Share{{Name: "a", Path: "src"}}}, "is relative"},
		{"share path with colon", "vm", RunOptions{Dirs: []Share{{Name: "a", Path: "/x:y"}}}, "contains ':'"},
		{"share tag with comma", "vm", RunOptions{Dirs: []Share{{Name: "a", Path: "/x", Tag: "t,u"}}}, "tag"},
		{"duplicate share names", "vm", RunOptions{Dirs: []Share{{Name: "a", Path: "/x"}, {Name: "a", Path: "/y"}}}, "duplicate share name"},
		{"two unnamed default-tag shares", "vm", RunOptions{Dirs: []Share{{Path: "/x"}, {Path: "/y"}}}, "each of them needs a Name"},
		{"one unnamed among named", "vm", RunOptions{Dirs: []Share{{Name: "a", Path: "/x"}, {Path: "/y"}}}, "each of them needs a Name"},
		{"disk empty", "vm", RunOptions{Disks: []Disk{{}}}, "path is empty"},
		{"disk amd64 iso", "vm", RunOptions{Disks: []Disk{{Path: "/isos/ubuntu-amd64.iso"}}}, "amd64 ISO"},
		{"disk relative", "vm", RunOptions{Disks: []Disk{{Path: "disk.img"}}}, "is relative"},
		{"disk bad sync", "vm", RunOptions{Disks: []Disk{{Path: "/d", Sync: "sometimes"}}}, `sync mode "sometimes"`},
		{"disk bad caching", "vm", RunOptions{Disks: []Disk{{Path: "/d", Caching: "lots"}}}, `caching mode "lots"`},
		{"block fsync", "vm", RunOptions{Disks: []Disk{{Path: "/dev/disk4", Sync: SyncFsync}}}, "not available for block devices"},
		{"root disk bad sync", "vm", RunOptions{RootDisk: DiskOptions{Sync: "x"}}, "root disk: sync mode"},
		{"bridged+softnet", "vm", RunOptions{Net: Network{Bridged: []string{"en0"}, SoftnetAllow: []string{"10.0.0.0/8"}}}, "mutually exclusive"},
		{"host+bridged", "vm", RunOptions{Net: Network{Mode: NetHost, Bridged: []string{"en0"}}}, "mutually exclusive"},
		{"host+softnet", "vm", RunOptions{Net: Network{Mode: NetHost, SoftnetBlock: []string{"10.0.0.0/8"}}}, "mutually exclusive"},
		{"softnet+bridged", "vm", RunOptions{Net: Network{Mode: NetSoftnet, Bridged: []string{"en0"}}}, "cannot be used with mode softnet"},
		{"bridged without interface", "vm", RunOptions{Net: Network{Mode: NetBridged}}, "needs at least one interface"},
		{"bridged blank interface", "vm", RunOptions{Net: Network{Bridged: []string{" "}}}, "empty bridged interface"},
		{"unknown mode", "vm", RunOptions{Net: Network{Mode: "nat"}}, `network mode "nat"`},
		{"bad cidr", "vm", RunOptions{Net: Network{SoftnetAllow: []string{"10.0.0.0"}}}, "not a CIDR"},
		{"bad expose", "vm", RunOptions{Net: Network{SoftnetExpose: []string{"22"}}}, "EXTERNAL:INTERNAL"},
		{"expose port range", "vm", RunOptions{Net: Network{SoftnetExpose: []string{"70000:22"}}}, "EXTERNAL:INTERNAL"},
		{"rosetta tag with colon", "vm", RunOptions{Rosetta: "a:b"}, "Rosetta tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RunArgs(tt.vm, tt.o)
			if err == nil {
				t.Fatalf("RunArgs = %q, want an error", got)
			}
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("error %v does not wrap ErrUsage", err)
			}
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("error %T is not *UsageError", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("error %q does not mention %q", err, tt.wantMsg)
			}
		})
	}
}

func TestRunFeatures(t *testing.T) {
	tests := []struct {
		name string
		o    RunOptions
		want []Feature
	}{
		{"none", RunOptions{NoGraphics: true}, nil},
		{"nested", RunOptions{Nested: true}, []Feature{FeatureNested}},
		{"suspendable", RunOptions{Suspendable: true}, []Feature{FeatureSuspend}},
		{"root disk caching", RunOptions{RootDisk: DiskOptions{Caching: CachingCached}}, []Feature{FeatureRootDiskOpts, FeatureCaching}},
		{"disk sync", RunOptions{Disks: []Disk{{Path: "/d", Sync: SyncNone}}}, []Feature{FeatureDiskSync}},
		{"softnet all", RunOptions{Net: Network{SoftnetAllow: []string{"1.0.0.0/8"}, SoftnetBlock: []string{"2.0.0.0/8"}, SoftnetExpose: []string{"1:2"}}},
			[]Feature{FeatureSoftnet, FeatureSoftnetAllow, FeatureSoftnetBlock, FeatureSoftnetExpose}},
		{"host", RunOptions{Net: Network{Mode: NetHost}}, []Feature{FeatureNetHost}},
		{"two bridges", RunOptions{Net: Network{Bridged: []string{"en0", "en1"}}}, []Feature{FeatureMultipleBridged}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RunFeatures(tt.o); !slices.Equal(got, tt.want) {
				t.Fatalf("RunFeatures = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGuestSharePath(t *testing.T) {
	if got := GuestSharePath("darwin", "build"); got != "/Volumes/My Shared Files/build" {
		t.Fatalf("darwin: %q", got)
	}
	if got := GuestSharePath("linux", "build"); got != "/mnt/shared/build" {
		t.Fatalf("linux: %q", got)
	}
}

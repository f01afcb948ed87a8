package tart

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func TestArgBuilders(t *testing.T) {
	build := func(args []string, err error) func() ([]string, error) {
		return func() ([]string, error) { return args, err }
	}
	tests := []struct {
		name string
		got  func() ([]string, error)
		want []string
	}{
		{"pull", build(PullArgs("ghcr.io/cirruslabs/macos-tahoe-base:latest", PullOptions{})),
			[]string{"pull", "ghcr.io/cirruslabs/macos-tahoe-base:latest"}},
		{"pull options", build(PullArgs("localhost:5000/a/b@sha256:"+strings.Repeat("a", 64), PullOptions{Concurrency: 8, Insecure: true})),
			[]string{"pull", "localhost:5000/a/b@sha256:" + strings.Repeat("a", 64), "--concurrency", "8", "--insecure"}},
		{"clone local", build(CloneArgs("base", "job-1", CloneOptions{})), []string{"clone", "base", "job-1"}},
		{"clone remote", build(CloneArgs("ghcr.io/org/img:1", "job-1", CloneOptions{Concurrency: 2, Insecure: true, PruneLimitGB: 20})),
			[]string{"clone", "ghcr.io/org/img:1", "job-1", "--concurrency", "2", "--insecure", "--prune-limit", "20"}},
		{"set all", build(SetArgs("vm", SetOptions{CPU: 4, MemoryMB: 8192, DiskSizeGB: 80, Display: "1920x1080px", DisplayRefit: ptr(true), RandomMAC: true, RandomSerial: true})),
			[]string{"set", "vm", "--cpu", "4", "--memory", "8192", "--disk-size", "80", "--display", "1920x1080px", "--display-refit", "--random-mac", "--random-serial"}},
		{"set no refit", build(SetArgs("vm", SetOptions{DisplayRefit: ptr(false)})), []string{"set", "vm", "--no-display-refit"}},
		{"get", build(GetArgs("vm")), []string{"get", "vm", "--format", "json"}},
		{"list", build(ListArgs(ListOptions{})), []string{"list", "--format", "json"}},
		{"list oci", build(ListArgs(ListOptions{Source: "oci"})), []string{"list", "--format", "json", "--source", "oci"}},
		{"ip", build(IPArgs("vm", IPOptions{})), []string{"ip", "vm"}},
		{"ip wait rounds up", build(IPArgs("vm", IPOptions{Wait: 1500 * time.Millisecond, Resolver: ResolverAgent})),
			[]string{"ip", "vm", "--wait", "2", "--resolver", "agent"}},
		{"ip arp", build(IPArgs("vm", IPOptions{Wait: time.Minute, Resolver: ResolverARP})), []string{"ip", "vm", "--wait", "60", "--resolver", "arp"}},
		{"stop default", build(StopArgs("vm", 0)), []string{"stop", "vm"}},
		{"stop timeout", build(StopArgs("vm", 10*time.Second)), []string{"stop", "vm", "--timeout", "10"}},
		{"suspend", build(SuspendArgs("vm")), []string{"suspend", "vm"}},
		{"delete many", build(DeleteArgs("a", "b")), []string{"delete", "a", "b"}},
		{"exec flags before name", build(ExecArgs("vm", []string{"sh", "-c", "echo -i"}, ExecOptions{Interactive: true, TTY: true})),
			[]string{"exec", "-i", "-t", "vm", "sh", "-c", "echo -i"}},
		{"exec passes dashes", build(ExecArgs("vm", []string{"ls", "--", "-la"}, ExecOptions{})), []string{"exec", "vm", "ls", "--", "-la"}},
		{"fqn", build(FQNArgs("ghcr.io/a/b:c")), []string{"fqn", "ghcr.io/a/b:c"}},
		{"prune", build(PruneArgs(PruneOptions{OlderThanDays: 7})), []string{"prune", "--older-than", "7"}},
		{"prune vms", build(PruneArgs(PruneOptions{Entries: "vms", SpaceBudgetGB: 100})), []string{"prune", "--entries", "vms", "--space-budget", "100"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.got()
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestArgBuildersRejectBadInput(t *testing.T) {
	errOf := func(_ []string, err error) error { return err }
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"pull local name", errOf(PullArgs("debian:latest", PullOptions{})), "not a valid remote image name"},
		{"pull traversal", errOf(PullArgs("ghcr.io/../etc:x", PullOptions{})), "not a valid remote image name"},
		{"pull non-ascii", errOf(PullArgs("ghcr.io/ünï/x", PullOptions{})), "not a valid remote image name"},
		{"pull spaces", errOf(PullArgs("ghcr.io/a b/c", PullOptions{})), "not a valid remote image name"},
		{"pull empty", errOf(PullArgs("", PullOptions{})), "is empty"},
		{"pull negative concurrency", errOf(PullArgs("ghcr.io/a/b", PullOptions{Concurrency: -1})), "negative"},
		{"clone to remote name", errOf(CloneArgs("base", "ghcr.io/a/b", CloneOptions{})), "should be a local name"},
		{"clone option-like", errOf(CloneArgs("-x", "y", CloneOptions{})), "would be read as an option"},
		{"set nothing", errOf(SetArgs("vm", SetOptions{})), "nothing to set"},
		{"set bad display", errOf(SetArgs("vm", SetOptions{Display: "big"})), "WIDTHxHEIGHT"},
		{"set bad display unit", errOf(SetArgs("vm", SetOptions{Display: "10x10cm"})), "WIDTHxHEIGHT"},
		{"set negative cpu", errOf(SetArgs("vm", SetOptions{CPU: -2})), "negative"},
		{"set huge disk", errOf(SetArgs("vm", SetOptions{DiskSizeGB: 70000})), "too large"},
		{"list bad source", errOf(ListArgs(ListOptions{Source: "remote"})), "list source"},
		{"ip bad resolver", errOf(IPArgs("vm", IPOptions{Resolver: "mdns"})), "use dhcp, arp or agent"},
		{"ip negative wait", errOf(IPArgs("vm", IPOptions{Wait: -time.Second})), "negative"},
		{"ip long wait", errOf(IPArgs("vm", IPOptions{Wait: 30 * time.Hour})), "too long"},
		{"delete none", errOf(DeleteArgs()), "at least one"},
		{"delete empty", errOf(DeleteArgs("a", "")), "is empty"},
		{"exec no command", errOf(ExecArgs("vm", nil, ExecOptions{})), "needs a command"},
		{"prune nothing", errOf(PruneArgs(PruneOptions{Entries: "vms"})), "at least one criterion"},
		{"prune bad entries", errOf(PruneArgs(PruneOptions{Entries: "all", OlderThanDays: 1})), `"caches" or "vms"`},
		{"name with newline", errOf(GetArgs("a\nb")), "control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("want an error")
			}
			if !errors.Is(tt.err, ErrUsage) {
				t.Fatalf("%v does not wrap ErrUsage", tt.err)
			}
			if !strings.Contains(tt.err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", tt.err, tt.want)
			}
		})
	}
}

func TestIsRemoteName(t *testing.T) {
	for name, want := range map[string]bool{
		"ghcr.io/cirruslabs/macos-tahoe-base:latest":                    true,
		"ghcr.io/cirruslabs/macos-tahoe-base":                           true,
		"localhost:5000/ns/img:v1.2_3":                                  true,
		"registry.example.com/a/b/c@sha256:" + strings.Repeat("0f", 32): true,
		"debian:latest":                           false,
		"local-vm":                                false,
		"ghcr.io/a/b@sha256:short":                false,
		"ghcr.io/a/b:bad:tag":                     false,
		"ghcr.io//b":                              false,
		"ghcr.io/a/../b":                          false,
		"https://ghcr.io/a/b":                     false,
		"ghcr.io/a/b:" + strings.Repeat("x", 129): false,
	} {
		if got := IsRemoteName(name); got != want {
			t.Errorf("IsRemoteName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestSetAndOtherFeatures(t *testing.T) {
	if got := setFeatures(SetOptions{RandomMAC: true, DisplayRefit: ptr(true), Display: "10x10pt"}); !slices.Equal(got, []Feature{FeatureRandomMAC, FeatureDisplayRefit, FeatureDisplayUnit}) {
		t.Fatalf("setFeatures = %q", got)
	}
	if got := setFeatures(SetOptions{Display: "10x10"}); got != nil {
		t.Fatalf("plain display needs no feature, got %q", got)
	}
	if got := ipFeatures(IPOptions{Resolver: ResolverAgent}); !slices.Equal(got, []Feature{FeatureResolverAgent}) {
		t.Fatalf("ipFeatures = %q", got)
	}
	if got := cloneFeatures(CloneOptions{PruneLimitGB: 1, Concurrency: 2}); !slices.Equal(got, []Feature{FeatureConcurrency, FeaturePruneLimit}) {
		t.Fatalf("cloneFeatures = %q", got)
	}
}

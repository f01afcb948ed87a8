package applecontainer

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shoenig/test/must"
)

var v122 = mustVersion("1.2.2")

func u32(n uint32) *uint32 { return &n }

// TestRunArgsEveryFlag: one case per flag of §4.1 this client sets; each
// case gives the words expected between "run" and the image.
func TestRunArgsEveryFlag(t *testing.T) {
	cases := []struct {
		name string
		o    RunOptions
		want []string
	}{
		{"name", RunOptions{Name: "web-1"}, []string{"--name", "web-1"}},
		{"entrypoint", RunOptions{Entrypoint: "/bin/sh -c"}, []string{"--entrypoint", "/bin/sh -c"}},
		{"env", RunOptions{Env: []string{"A=1", "B"}}, []string{"--env", "A=1", "--env", "B"}},
		{"env-file", RunOptions{EnvFiles: []string{"/etc/a.env"}}, []string{"--env-file", "/etc/a.env"}},
		{"user", RunOptions{User: "nobody:nogroup"}, []string{"--user", "nobody:nogroup"}},
		{"uid", RunOptions{UID: u32(0)}, []string{"--uid", "0"}},
		{"gid", RunOptions{GID: u32(1000)}, []string{"--gid", "1000"}},
		{"workdir", RunOptions{Workdir: "/srv"}, []string{"--workdir", "/srv"}},
		{"cpus", RunOptions{CPUs: 2}, []string{"--cpus", "2"}},
		{"memory MiB", RunOptions{MemoryBytes: 512 << 20}, []string{"--memory", "512M"}},
		{"memory GiB", RunOptions{MemoryBytes: 2 << 30}, []string{"--memory", "2048M"}},
		{"memory bytes", RunOptions{MemoryBytes: 200<<20 + 1}, []string{"--memory", strconv.Itoa(200<<20 + 1)}},
		{"volume bind", RunOptions{Volumes: []string{"/host/data:/data:ro"}}, []string{"--volume", "/host/data:/data:ro"}},
		{"volume named", RunOptions{Volumes: []string{"cache:/cache"}}, []string{"--volume", "cache:/cache"}},
		{"volume anonymous", RunOptions{Volumes: []string{"/scratch"}}, []string{"--volume", "/scratch"}},
		{"mount", RunOptions{Mounts: []Mount{{Type: "bind", Source: "/h", Target: "/c", ReadOnly: true}, {Type: "tmpfs", Target: "/t"}}},
			[]string{"--mount", "type=bind,source=/h,target=/c,readonly", "--mount", "type=tmpfs,target=/t"}},
		{"tmpfs", RunOptions{Tmpfs: []string{"/run"}}, []string{"--tmpfs", "/run"}},
		{"publish", RunOptions{Publish: []Port{{HostPort: 8080, ContainerPort: 80}, {HostIP: "127.0.0.1", HostPort: 53, ContainerPort: 53, Proto: "udp"}, {HostIP: "::1", HostPort: 9000, ContainerPort: 9000, Proto: "tcp"}}},
			[]string{"--publish", "8080:80", "--publish", "127.0.0.1:53:53/udp", "--publish", "[::1]:9000:9000/tcp"}},
		{"network", RunOptions{Networks: []string{"default", "backend,mac=02:42:ac:11:00:02,mtu=1500"}}, []string{"--network", "default", "--network", "backend,mac=02:42:ac:11:00:02,mtu=1500"}},
		{"network none", RunOptions{Networks: []string{"none"}}, []string{"--network", "none"}},
		{"dns", RunOptions{DNS: []string{"1.1.1.1"}, DNSDomain: "corp", DNSSearch: []string{"a.corp"}, DNSOptions: []string{"ndots:2"}},
			[]string{"--dns", "1.1.1.1", "--dns-domain", "corp", "--dns-search", "a.corp", "--dns-option", "ndots:2"}},
		{"no-dns", RunOptions{NoDNS: true}, []string{"--no-dns"}},
		{"labels sorted", RunOptions{Labels: map[string]string{"z": "1", "a": "x", "flag": ""}}, []string{"--label", "a=x", "--label", "flag", "--label", "z=1"}},
		{"cap-add/drop", RunOptions{CapAdd: []string{"NET_ADMIN"}, CapDrop: []string{"ALL"}}, []string{"--cap-add", "NET_ADMIN", "--cap-drop", "ALL"}},
		{"read-only", RunOptions{ReadOnly: true}, []string{"--read-only"}},
		{"init", RunOptions{Init: true, InitImage: "ghcr.io/x/init:1"}, []string{"--init", "--init-image", "ghcr.io/x/init:1"}},
		{"interactive+tty", RunOptions{Interactive: true, TTY: true}, []string{"--interactive", "--tty"}},
		{"rm", RunOptions{Remove: true}, []string{"--rm"}},
		{"rosetta", RunOptions{Rosetta: true}, []string{"--rosetta"}},
		{"ssh", RunOptions{SSH: true}, []string{"--ssh"}},
		{"virtualization", RunOptions{Virtualization: true}, []string{"--virtualization"}},
		{"platform", RunOptions{Platform: "linux/amd64"}, []string{"--platform", "linux/amd64"}},
		{"arch+os", RunOptions{Arch: "arm64", OS: "linux"}, []string{"--arch", "arm64", "--os", "linux"}},
		{"kernel", RunOptions{Kernel: "/k/vmlinux", KernelArgs: []string{"quiet"}}, []string{"--kernel", "/k/vmlinux", "--kernel-arg", "quiet"}},
		{"shm-size", RunOptions{ShmSize: "64M"}, []string{"--shm-size", "64M"}},
		{"ulimit", RunOptions{Ulimits: []string{"nofile=1024:2048", "core=unlimited"}}, []string{"--ulimit", "nofile=1024:2048", "--ulimit", "core=unlimited"}},
		{"extra flags", RunOptions{ExtraFlags: []string{"--publish-socket", "/tmp/s:/s", "--cidfile=/tmp/cid"}}, []string{"--publish-socket", "/tmp/s:/s", "--cidfile=/tmp/cid"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Image = "alpine"
			tc.o.Args = []string{"sh", "-c", "echo --not-a-flag"}
			got, err := RunArgs(tc.o, v122)
			must.NoError(t, err)
			want := append(append([]string{"run"}, tc.want...), "--progress", "none", "alpine", "sh", "-c", "echo --not-a-flag")
			must.Eq(t, want, got)

			created, err := CreateArgs(tc.o, v122)
			must.NoError(t, err)
			must.Eq(t, append(append([]string{"create"}, tc.want...), "alpine", "sh", "-c", "echo --not-a-flag"), created)
		})
	}
}

func TestRunArgsTableCoversEveryField(t *testing.T) {
	// Every RunOptions field that maps to a flag is in the table once.
	seen := map[string]bool{}
	for _, f := range runFlags {
		must.False(t, seen[f.field], must.Sprintf("field %s twice", f.field))
		seen[f.field] = true
		must.True(t, knownRunFlags[f.flag], must.Sprintf("%s is not a known run flag", f.flag))
	}
	must.SliceLen(t, 39, runFlags)
}

func TestRunArgsRejects(t *testing.T) {
	many := make([]Port, 65)
	for i := range many {
		many[i] = Port{HostPort: 10000 + i, ContainerPort: 80}
	}
	cases := []struct {
		name, option, text string
		o                  RunOptions
	}{
		{"no image", "Image", "no image", RunOptions{}},
		{"image flag", "Image", "starts with '-'", RunOptions{Image: "--rm"}},
		{"memory small", "MemoryBytes (--memory)", "minimum memory amount allowed is 200 MiB (got 134217728 bytes)", RunOptions{MemoryBytes: 128 << 20}},
		{"memory negative", "MemoryBytes (--memory)", "negative", RunOptions{MemoryBytes: -1}},
		{"cpus negative", "CPUs", "negative", RunOptions{CPUs: -2}},
		{"label a=b=c", "Labels", "invalid label format", RunOptions{Labels: map[string]string{"a": "b=c"}}},
		{"label key =", "Labels", "invalid label format", RunOptions{Labels: map[string]string{"a=b": "c"}}},
		{"label empty key", "Labels", "empty label key", RunOptions{Labels: map[string]string{"": "c"}}},
		{"65 ports", "Publish", "at most 64", RunOptions{Publish: many}},
		{"port 1", "Publish[0]", "host port 1 is out of range", RunOptions{Publish: []Port{{HostPort: 1, ContainerPort: 80}}}},
		{"container port 0", "Publish[0]", "container port 0", RunOptions{Publish: []Port{{HostPort: 80, ContainerPort: 0}}}},
		{"port too big", "Publish[0]", "65536", RunOptions{Publish: []Port{{HostPort: 65536, ContainerPort: 80}}}},
		{"bad proto", "Publish[0]", "protocol \"sctp\"", RunOptions{Publish: []Port{{HostPort: 80, ContainerPort: 80, Proto: "sctp"}}}},
		{"bad host ip", "Publish[0]", "not an IP", RunOptions{Publish: []Port{{HostIP: "localhost", HostPort: 80, ContainerPort: 80}}}},
		{"port twice", "Publish[1]", "published twice", RunOptions{Publish: []Port{{HostPort: 80, ContainerPort: 80}, {HostIP: "127.0.0.1", HostPort: 80, ContainerPort: 81}}}},
		{"name regex", "Name", "invalid", RunOptions{Name: "-bad"}},
		{"name one char", "Name", "at least 2", RunOptions{Name: "a"}},
		{"name 64 chars", "Name", "limit is 63", RunOptions{Name: strings.Repeat("a", 64)}},
		{"network host", "Networks", "no host networking", RunOptions{Networks: []string{"host"}}},
		{"network task", "Networks", "no host networking", RunOptions{Networks: []string{"task:web"}}},
		{"network container", "Networks", "no host networking", RunOptions{Networks: []string{"container:abc"}}},
		{"network bad name", "Networks", "not a valid network name", RunOptions{Networks: []string{"Bad_Name"}}},
		{"network none plus", "Networks", "cannot be combined", RunOptions{Networks: []string{"none", "default"}}},
		{"network mtu", "Networks", "mtu", RunOptions{Networks: []string{"default,mtu=100"}}},
		{"network mac", "Networks", "mac", RunOptions{Networks: []string{"default,mac=zz"}}},
		{"network option", "Networks", "unknown option", RunOptions{Networks: []string{"default,ip=1.2.3.4"}}},
		{"env no key", "Env", "needs a variable name", RunOptions{Env: []string{"=x"}}},
		{"volume relative", "Volumes", "absolute host path or a volume name", RunOptions{Volumes: []string{"./data:/data"}}},
		{"volume relative dir", "Volumes", "absolute host path or a volume name", RunOptions{Volumes: []string{"local/nginx.conf:/etc/nginx.conf"}}},
		{"volume ctr relative", "Volumes", "must be absolute", RunOptions{Volumes: []string{"/h:data"}}},
		{"volume anon relative", "Volumes", "anonymous volume", RunOptions{Volumes: []string{"data"}}},
		{"mount type", "Mounts[0]", "type \"overlay\"", RunOptions{Mounts: []Mount{{Type: "overlay", Source: "/a", Target: "/b"}}}},
		{"mount relative", "Mounts[0]", "absolute host directory", RunOptions{Mounts: []Mount{{Type: "bind", Source: "a", Target: "/b"}}}},
		{"mount comma", "Mounts[0]", "','", RunOptions{Mounts: []Mount{{Type: "bind", Source: "/a,b", Target: "/b"}}}},
		{"tmpfs relative", "Tmpfs", "absolute", RunOptions{Tmpfs: []string{"run"}}},
		{"dns not ip", "DNS", "not an IP", RunOptions{DNS: []string{"dns.google"}}},
		{"no-dns conflict", "NoDNS", "conflicts", RunOptions{NoDNS: true, DNS: []string{"1.1.1.1"}}},
		{"cap", "CapAdd/CapDrop", "capability", RunOptions{CapAdd: []string{"net admin"}}},
		{"platform", "Platform", "os/arch", RunOptions{Platform: "arm64"}},
		{"shm", "ShmSize", "not a size", RunOptions{ShmSize: "lots"}},
		{"ulimit", "Ulimits", "<type>=<soft>", RunOptions{Ulimits: []string{"files=10"}}},
		{"docker hostname", "ExtraFlags", "--hostname is not an option of Apple's container CLI: the container's hostname is its name", RunOptions{ExtraFlags: []string{"--hostname", "x"}}},
		{"docker restart", "ExtraFlags", "--restart is not an option", RunOptions{ExtraFlags: []string{"--restart=always"}}},
		{"docker privileged", "ExtraFlags", "--privileged", RunOptions{ExtraFlags: []string{"--privileged"}}},
		{"docker health", "ExtraFlags", "--health-timeout", RunOptions{ExtraFlags: []string{"--health-timeout", "1s"}}},
		{"detach", "ExtraFlags", "-d is not an option", RunOptions{ExtraFlags: []string{"-d"}}},
		{"unknown", "ExtraFlags", "--frobnicate", RunOptions{ExtraFlags: []string{"--frobnicate"}}},
		{"field flag", "ExtraFlags", "set RunOptions.MemoryBytes", RunOptions{ExtraFlags: []string{"--memory", "64M"}}},
		{"field short flag", "ExtraFlags", "set RunOptions.MemoryBytes", RunOptions{ExtraFlags: []string{"-m=64M"}}},
		{"field alias", "ExtraFlags", "set RunOptions.Workdir", RunOptions{ExtraFlags: []string{"--cwd", "/x"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.o.Image == "" && tc.name != "no image" {
				tc.o.Image = "alpine"
			}
			_, err := RunArgs(tc.o, v122)
			must.ErrorIs(t, err, ErrInvalidInput)
			var ie *InputError
			must.True(t, errors.As(err, &ie))
			must.Eq(t, tc.option, ie.Option)
			must.StrContains(t, err.Error(), tc.text)
		})
	}
}

// TestRunArgsExtraFlagsCoverSpec: every run flag of §4.1 is either a
// RunOptions field or accepted (version-gated) through ExtraFlags, and every
// Docker-only flag the spec lists is refused.
func TestRunArgsExtraFlagsCoverSpec(t *testing.T) {
	fields := map[string]bool{}
	for _, f := range runFlags {
		fields[f.flag] = true
	}
	for flag := range knownRunFlags {
		long := flag
		if a, ok := shortAliases[flag]; ok {
			long = a
		}
		if fields[long] {
			continue
		}
		since, ok := extraOnly[flag]
		must.True(t, ok, must.Sprintf("%s is neither a field nor an ExtraFlags flag", flag))
		_, err := RunArgs(RunOptions{Image: "alpine", ExtraFlags: []string{flag, "x"}}, v122)
		must.NoError(t, err, must.Sprint(flag))
		if since.Compare(mustVersion("0.1.0")) > 0 {
			_, err = RunArgs(RunOptions{Image: "alpine", ExtraFlags: []string{flag, "x"}}, mustVersion("0.1.0"))
			must.ErrorIs(t, err, ErrUnsupported, must.Sprint(flag))
		}
	}
	for _, flag := range []string{"--hostname", "--restart", "--pull", "--stop-signal", "--stop-timeout", "--health-cmd",
		"--log-driver", "--log-opt", "--privileged", "--device", "--add-host", "-P", "--publish-all", "--expose", "--sysctl",
		"--security-opt", "--memory-swap", "--cpu-shares", "--gpus", "--pid", "--ipc", "--attach", "-d", "--detach"} {
		_, err := RunArgs(RunOptions{Image: "alpine", ExtraFlags: []string{flag}}, v122)
		must.ErrorIs(t, err, ErrInvalidInput, must.Sprint(flag))
		must.StrContains(t, err.Error(), flag)
	}
}

func TestRunArgsMemoryMinimumAccepted(t *testing.T) {
	got, err := RunArgs(RunOptions{Image: "alpine", MemoryBytes: 200 << 20}, v122)
	must.NoError(t, err)
	must.SliceContains(t, got, "200M")
}

func TestRunArgsVersionGates(t *testing.T) {
	cases := []struct {
		o       RunOptions
		feature Feature
		need    string
	}{
		{RunOptions{CapAdd: []string{"NET_ADMIN"}}, FeatureCapabilities, "0.12.0"},
		{RunOptions{CapDrop: []string{"ALL"}}, FeatureCapabilities, "0.12.0"},
		{RunOptions{Init: true}, FeatureInit, "0.10.0"},
		{RunOptions{InitImage: "x/y"}, FeatureInitImage, "0.10.0"},
		{RunOptions{ReadOnly: true}, FeatureReadOnly, "0.8.0"},
		{RunOptions{Rosetta: true}, FeatureRosetta, "0.7.0"},
		{RunOptions{Ulimits: []string{"nofile=1"}}, FeatureUlimit, "0.9.0"},
		{RunOptions{ShmSize: "1g"}, FeatureShmSize, "1.0.0"},
		{RunOptions{KernelArgs: []string{"quiet"}}, FeatureKernelArg, "1.2.0"},
		{RunOptions{Platform: "linux/arm64"}, FeaturePlatform, "0.4.0"},
		{RunOptions{SSH: true}, FeatureSSH, "0.4.0"},
		{RunOptions{Virtualization: true}, FeatureVirtualization, "0.3.0"},
		{RunOptions{Publish: []Port{{HostPort: 80, ContainerPort: 80}}}, FeaturePublish, "0.3.0"},
		{RunOptions{Networks: []string{"default"}}, FeatureNetwork, "0.2.0"},
		{RunOptions{Networks: []string{"none"}}, FeatureNetworkNone, "0.6.0"},
		{RunOptions{Networks: []string{"default,mac=02:00:00:00:00:01"}}, FeatureNetworkMAC, "0.7.0"},
		{RunOptions{Networks: []string{"default,mtu=1500"}}, FeatureNetworkMTU, "0.11.0"},
	}
	for _, tc := range cases {
		t.Run(string(tc.feature), func(t *testing.T) {
			tc.o.Image = "alpine"
			need := mustVersion(tc.need)
			before := Version{Major: need.Major, Minor: need.Minor - 1, Patch: 9}
			if need.Minor == 0 {
				before = Version{Major: need.Major - 1, Minor: 12, Patch: 3}
			}
			_, err := RunArgs(tc.o, before)
			must.ErrorIs(t, err, ErrUnsupported)
			var ue *UnsupportedError
			must.True(t, errors.As(err, &ue))
			must.Eq(t, tc.feature, ue.Feature)
			must.Eq(t, need, ue.Need)
			must.StrContains(t, err.Error(), "needs container >= "+tc.need)
			must.SliceContains(t, RunFeatures(tc.o), tc.feature)

			_, err = RunArgs(tc.o, need)
			must.NoError(t, err)
		})
	}
}

func TestRunArgsProgress(t *testing.T) {
	for _, tc := range []struct {
		v    Version
		want []string
	}{
		{Version{}, []string{"--progress", "none"}},
		{mustVersion("0.7.0"), []string{"--progress", "none"}},
		{mustVersion("0.6.0"), []string{"--disable-progress-updates"}},
	} {
		got, err := RunArgs(RunOptions{Image: "alpine"}, tc.v)
		must.NoError(t, err)
		must.Eq(t, append(append([]string{"run"}, tc.want...), "alpine"), got)
		must.False(t, slices.Contains(got, "-d") || slices.Contains(got, "--detach"))
	}
}

package applecontainer

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	must.NoError(t, err)
	return b
}

func TestParseContainer1xInspect(t *testing.T) {
	cs, err := ParseContainers(fixture(t, "container_1x_inspect.json"))
	must.NoError(t, err)
	must.SliceLen(t, 1, cs)
	c := cs[0]
	must.Eq(t, "web", c.ID)
	must.Eq(t, StateRunning, c.State)
	must.Eq(t, "docker.io/library/nginx:latest", c.Image)
	must.Eq(t, "sha256:1111111111111111111111111111111111111111111111111111111111111111", c.ImageDigest)
	must.Eq(t, []netip.Prefix{netip.MustParsePrefix("192.168.64.3/24")}, c.IPv4)
	must.Eq(t, netip.MustParseAddr("192.168.64.1"), c.Networks[0].Gateway)
	must.Eq(t, netip.MustParsePrefix("fd00::3/64"), c.Networks[0].IPv6)
	must.Eq(t, "02:42:ac:11:00:03", c.Networks[0].MAC)
	must.Eq(t, time.Date(2026, 8, 1, 10, 0, 1, 0, time.UTC), c.StartedAt)
	must.Eq(t, time.Date(2026, 8, 1, 10, 0, 0, 0, time.UTC), c.CreatedAt)
	must.Eq(t, map[string]string{"com.example.team": "web"}, c.Labels)
	must.Eq(t, 4, c.Config.CPUs)
	must.Eq(t, int64(1<<30), c.Config.MemoryBytes)
	must.Eq(t, "/docker-entrypoint.sh", c.Config.Init.Executable)
	must.Eq(t, []string{"nginx", "-g", "daemon off;"}, c.Config.Init.Args)
	must.Eq(t, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", c.Config.Init.Env[0])
	must.Eq(t, "/", c.Config.Init.Workdir)
	must.Eq(t, "0:0", c.Config.Init.User)
	must.Eq(t, "linux/arm64", c.Config.Platform)
	must.Eq(t, []string{"default"}, c.Config.Networks)
	must.Eq(t, []Port{
		{HostIP: "0.0.0.0", HostPort: 8080, ContainerPort: 80, Proto: "tcp"},
		{HostIP: "127.0.0.1", HostPort: 19000, ContainerPort: 9000, Proto: "udp"},
		{HostIP: "127.0.0.1", HostPort: 19001, ContainerPort: 9001, Proto: "udp"},
	}, c.Config.Ports)
	must.Eq(t, []MountInfo{
		{Type: "virtiofs", Source: "/Users/me/data", Destination: "/data", Options: []string{"ro"}},
		{Type: "volume", Source: "/Users/me/Library/Application Support/com.apple.container/volumes/cache/volume.img", Destination: "/cache", Options: []string{}},
	}, c.Config.Mounts)
	must.True(t, c.Config.UseInit)
	must.Eq(t, "SIGQUIT", c.Config.StopSignal)
	must.Eq(t, []string{"CAP_NET_RAW"}, c.Config.CapDrop)
}

func TestParseContainer1xList(t *testing.T) {
	cs, err := ParseContainers(fixture(t, "container_1x_list.json"))
	must.NoError(t, err)
	must.SliceLen(t, 2, cs)
	job := cs[0]
	must.Eq(t, "job-1", job.ID)
	must.Eq(t, StateStopped, job.State)
	must.SliceEmpty(t, job.IPv4)
	must.Eq(t, time.Date(2026, 8, 1, 9, 0, 1, 0, time.UTC), job.StartedAt) // kept after stop
	must.Eq(t, time.Date(2026, 8, 1, 9, 0, 0, 250e6, time.UTC), job.CreatedAt)
	must.Eq(t, "nobody", job.Config.Init.User)
	must.True(t, job.Config.Init.Terminal)
	must.True(t, job.Config.ReadOnly)
	must.Eq(t, "linux/arm64/v8", job.Config.Platform)
	must.Eq(t, "tmpfs", job.Config.Mounts[0].Type)
	must.Eq(t, "127.0.0.1:5000/private/app:1", job.Image)

	fresh := cs[1]
	must.Eq(t, StateStopping, fresh.State)
	must.True(t, fresh.StartedAt.IsZero())
	must.Eq(t, "1000:1000", fresh.Config.Init.User)
}

func TestParseContainerPre1(t *testing.T) {
	cs, err := ParseContainers(fixture(t, "container_0_12.json"))
	must.NoError(t, err)
	must.SliceLen(t, 2, cs)
	web := cs[0]
	must.Eq(t, "web", web.ID) // from configuration.id
	must.Eq(t, StateRunning, web.State)
	must.Eq(t, []netip.Prefix{netip.MustParsePrefix("192.168.64.3/24")}, web.IPv4)
	must.Eq(t, appleReferenceDate.Add(776000000*time.Second+500*time.Millisecond), web.StartedAt)
	must.Eq(t, "2025-08-04T11:33:20.5Z", web.StartedAt.Format(time.RFC3339Nano))
	must.Eq(t, map[string]string{"nomad.alloc": "abc"}, web.Labels)
	must.Eq(t, StateStopped, cs[1].State)
	must.Eq(t, "1000:1000", cs[1].Config.Init.User)

	old, err := ParseContainers(fixture(t, "container_0_7.json"))
	must.NoError(t, err)
	must.Eq(t, "legacy", old[0].ID)
	must.Eq(t, []netip.Prefix{netip.MustParsePrefix("192.168.64.9/24")}, old[0].IPv4) // "address" key
	must.Eq(t, netip.MustParseAddr("192.168.64.1"), old[0].Networks[0].Gateway)       // "gateway" key
	must.Eq(t, []string{"default"}, old[0].Config.Networks)                           // strings
}

func TestParseContainersEdgeCases(t *testing.T) {
	for _, empty := range []string{"", "[]", "  \n", "null"} {
		cs, err := ParseContainers([]byte(empty))
		must.NoError(t, err)
		must.SliceEmpty(t, cs)
	}
	// A single object, a bare IP instead of CIDR, unknown state kept.
	cs, err := ParseContainers([]byte(`{"id":"x1","status":{"state":"paused","networks":[{"network":"default","ipv4Address":"10.0.0.2"}]},"configuration":{}}`))
	must.NoError(t, err)
	must.Eq(t, State("paused"), cs[0].State)
	must.Eq(t, netip.MustParsePrefix("10.0.0.2/32"), cs[0].IPv4[0])

	for _, bad := range []string{
		`[{"status":"running","configuration":{}}]`,                                     // no id
		`[{"id":"x","status":{"state":"running","networks":[{"ipv4Address":"nope"}]}}]`, // bad IP
		`[{"id":"x","status":{"state":"running","startedDate":"yesterday"}}]`,           // bad date
		`[{"id":"x","status":"running","startedDate":true}]`,                            // bad date type
		`{"id":`, // truncated
	} {
		_, err := ParseContainers([]byte(bad))
		must.Error(t, err, must.Sprint(bad))
	}
}

func TestParseStats(t *testing.T) {
	st, err := ParseStats(fixture(t, "stats_1x.json"))
	must.NoError(t, err)
	must.SliceLen(t, 2, st)
	must.Eq(t, "web", st[0].ID)
	must.Eq(t, uint64(1234567), *st[0].CPUUsageUsec)
	must.Eq(t, uint64(47431680), *st[0].MemoryUsageBytes)
	must.Eq(t, uint64(1073741824), *st[0].MemoryLimitBytes)
	must.Eq(t, uint64(1289011), *st[0].NetRxBytes)
	must.Eq(t, uint64(876544), *st[0].NetTxBytes)
	must.Eq(t, uint64(4718592), *st[0].BlockReadBytes)
	must.Eq(t, uint64(2202009), *st[0].BlockWriteBytes)
	must.Eq(t, uint64(3), *st[0].NumProcesses)
	must.Nil(t, st[1].CPUUsageUsec) // omitted since 0.8.0
	must.Eq(t, uint64(1024), *st[1].MemoryUsageBytes)

	empty, err := ParseStats([]byte("[]"))
	must.NoError(t, err)
	must.SliceEmpty(t, empty)
}

func TestParseImages(t *testing.T) {
	imgs, err := ParseImages(fixture(t, "images_1x.json"))
	must.NoError(t, err)
	must.Eq(t, "docker.io/library/nginx:latest", imgs[0].Reference)
	must.Eq(t, "sha256:1111111111111111111111111111111111111111111111111111111111111111", imgs[0].Digest)
	must.Eq(t, []string{"linux/arm64/v8", "linux/amd64"}, imgs[0].Platforms)
	must.Eq(t, time.Date(2026, 7, 30, 12, 0, 0, 0, time.UTC), imgs[0].CreatedAt)

	old, err := ParseImages(fixture(t, "images_0_12.json"))
	must.NoError(t, err)
	must.Eq(t, "docker.io/library/alpine:latest", old[0].Reference)
	must.Eq(t, int64(3500000), old[0].Size)
	must.Eq(t, "application/vnd.oci.image.index.v1+json", old[0].MediaType)
}

func TestParseNetworks(t *testing.T) {
	ns, err := ParseNetworks(fixture(t, "networks_1x.json"))
	must.NoError(t, err)
	must.SliceLen(t, 2, ns)
	must.Eq(t, Network{ID: "default", Mode: "nat", IPv4Subnet: netip.MustParsePrefix("192.168.64.0/24"), IPv4Gateway: netip.MustParseAddr("192.168.64.1"),
		Labels: map[string]string{"com.apple.container.resource.role": "builtin"}}, ns[0])
	must.Eq(t, "hostOnly", ns[1].Mode)
}

func TestParseSystemStatus(t *testing.T) {
	st, err := ParseSystemStatus(fixture(t, "system_status_flat.json"))
	must.NoError(t, err)
	must.Eq(t, SystemStatus{Running: true, Status: "running", AppRoot: "/Users/me/Library/Application Support/com.apple.container/",
		InstallRoot: "/usr/local/", LogRoot: "/tmp/logs", APIServerVersion: "1.2.2", APIServerCommit: "3c4c59c"}, st)

	down, err := ParseSystemStatus(fixture(t, "system_status_not_running.json"))
	must.NoError(t, err)
	must.False(t, down.Running)
	must.Eq(t, "not running", down.Status)

	nested, err := ParseSystemStatus(fixture(t, "system_status_1_4.json"))
	must.NoError(t, err)
	must.Eq(t, SystemStatus{Running: true, Status: "running", AppRoot: "/var/root/app", InstallRoot: "/usr/local/", LogRoot: "/var/log/c",
		APIServerVersion: "1.4.1", APIServerCommit: "abcdef0"}, nested)

	only, err := ParseSystemStatus([]byte(`{"status":"unregistered"}`))
	must.NoError(t, err)
	must.False(t, only.Running)

	_, err = ParseSystemStatus([]byte(`{"appRoot":"/x"}`))
	must.Error(t, err)

	txt := ParseSystemStatusText("FIELD              VALUE\nstatus             running\nappRoot            /a/\ninstallRoot        /usr/local/\napiserver.version  container-apiserver version 1.2.2 (build: release, commit: 3c4c59c)\n")
	must.Eq(t, SystemStatus{Running: true, Status: "running", AppRoot: "/a/", InstallRoot: "/usr/local/", APIServerVersion: "1.2.2"}, txt)
	must.False(t, ParseSystemStatusText("apiserver is not running and not registered with launchd\n").Running)
	must.True(t, ParseSystemStatusText("apiserver is running\n").Running)
}

func TestParseSystemVersion(t *testing.T) {
	vs, err := ParseSystemVersion(fixture(t, "system_version.json"))
	must.NoError(t, err)
	must.Eq(t, []VersionInfo{
		{AppName: "container", Version: "1.2.2", BuildType: "release", Commit: "3c4c59c"},
		{AppName: "container-apiserver", Version: "container-apiserver version 1.2.2 (build: release, commit: 3c4c59c)", BuildType: "release", Commit: "3c4c59c"},
	}, vs)
	one, err := ParseSystemVersion([]byte(`{"appName":"container","version":"0.8.0"}`))
	must.NoError(t, err)
	must.Eq(t, "0.8.0", one[0].Version)
}

package containersim

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"
	"golang.org/x/sys/unix"
)

// cli runs one command line in-process against appRoot with env knobs.
func cli(t *testing.T, appRoot string, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	en := &envT{stdin: strings.NewReader(""), stdout: &o, stderr: &e, self: "/usr/local/bin/container",
		getenv: func(k string) string {
			if k == "CONTAINER_APP_ROOT" {
				return appRoot
			}
			return env[k]
		}}
	code = en.main(args)
	return o.String(), e.String(), code
}

type envT = env

func startedRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	_, _, code := cli(t, root, nil, "system", "start", "--enable-kernel-install")
	must.Eq(t, 0, code)
	return root
}

func TestParseErrors(t *testing.T) {
	root := startedRoot(t)
	cases := []struct {
		args   []string
		stderr string
		code   int
	}{
		{[]string{"run", "--hostname", "x", "busybox"}, "Error: Unknown option '--hostname'\nUsage: container run [<options>] <image> [<arguments> ...]\n  See 'container run --help' for more information.\n", 64},
		{[]string{"run", "--restart", "always", "busybox"}, "Error: Unknown option '--restart'\n", 64},
		{[]string{"run"}, "Error: Missing expected argument '<image>'\n", 64},
		{[]string{"run", "--name"}, "Error: Missing value for '--name <name>'\n", 64},
		{[]string{"run", "--progress", "fancy", "busybox"}, "Error: The value 'fancy' is invalid for '--progress <type>'. Please provide one of 'auto', 'none', 'ansi', 'plain' or 'color'.\n", 64},
		{[]string{"stop", "-t", "soon", "x"}, "Error: The value 'soon' is invalid for '-t <time>'\n", 64},
		{[]string{"frobnicate"}, "Error: Plugin 'container-frobnicate' not found.\n", 64},
		{[]string{"inspect"}, "Error: Missing expected argument '<container-ids> ...'\n", 64},
		{[]string{"stop"}, "Error: no containers specified and --all not supplied\n", 1},
		{[]string{"stop", "-a", "x"}, "Error: explicitly supplied container IDs conflict with the --all flag\n", 1},
		{[]string{"kill", "-s", "BOGUS", "x"}, "Error: internalError: \"failed to kill container\" (cause: \"invalidArgument: \"invalid signal: BOGUS\"\")\n", 1},
		{[]string{"run", "--name", "-bad", "busybox"}, "Error: Missing value for '--name <name>'\n", 64},
		{[]string{"run", "--name", "a", "busybox"}, "Error: container ID a is not a valid container ID\n", 1},
		{[]string{"run", "-m", "128M", "busybox"}, "Error: minimum memory amount allowed is 200 MiB (got 134217728 bytes)\n", 1},
		{[]string{"run", "-l", "a=b=c", "busybox"}, "Error: invalid label format a=b=c\n", 1},
		{[]string{"run", "-v", "/does/not/exist:/x", "busybox"}, "Error: path '/does/not/exist' does not exist\n", 1},
		{[]string{"run", "-p", "nonsense", "busybox"}, "Error: invalid publish value: nonsense\n", 1},
		{[]string{"run", "--network", "bogus", "busybox"}, "Error: network bogus not found\n", 1},
		{[]string{"inspect", "nope", "alsonope"}, "Error: container not found: alsonope, nope\n", 1},
		{[]string{"stop", "nope"}, "Error: internalError: \"failed to stop container\" (cause: \"notFound: \"container with ID nope not found\"\")\n", 1},
		{[]string{"delete", "nope"}, "Error: internalError: \"failed to delete container\" (cause: \"notFound: \"container with ID nope not found\"\")\n", 1},
		{[]string{"exec", "nope", "ls"}, "Error: get failed: container nope not found\n", 1},
		{[]string{"start", "nope"}, "Error: get failed: container nope not found\n", 1},
		{[]string{"stats", "--no-stream", "nope"}, "Error: no such container: nope\n", 1},
		{[]string{"logs", "nope"}, "Error: failed to get logs for container nope (cause: \"internalError: \"failed to open container logs: container nope not found\"\")\n", 1},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			out, errOut, code := cli(t, root, nil, c.args...)
			must.Eq(t, c.code, code)
			must.Eq(t, "", out)
			must.StrHasPrefix(t, c.stderr, errOut)
		})
	}
}

func TestPassthroughAfterImage(t *testing.T) {
	c := rootCommand().sub("run").forVersion(version{1, 2, 2, "1.2.2"})
	p, err := c.parse([]string{"-e", "A=1", "--rm", "img", "--hostname", "-x", "--", "--rm"})
	must.NoError(t, err)
	must.Eq(t, []string{"img", "--hostname", "-x", "--", "--rm"}, p.args)
	must.True(t, p.flag("rm"))
	must.Eq(t, []string{"A=1"}, p.all("env"))
	// Combined short flags and aliases.
	p, err = c.parse([]string{"-it", "--cwd", "/tmp", "--remove", "img"})
	must.NoError(t, err)
	must.True(t, p.flag("interactive") && p.flag("tty") && p.flag("rm"))
	must.Eq(t, "/tmp", p.str("workdir", ""))
}

func TestOptionsOfOlderReleasesAreUnknown(t *testing.T) {
	root := startedRoot(t)
	_, errOut, code := cli(t, root, map[string]string{"CONTAINER_SIM_VERSION": "0.12.3"}, "run", "--shm-size", "1g", "busybox")
	must.Eq(t, 64, code)
	must.StrHasPrefix(t, "Error: Unknown option '--shm-size'", errOut)
}

func TestAPIServerDown(t *testing.T) {
	root := t.TempDir() // never started
	short := "Error: interrupted: \"XPC connection error: Connection invalid\"\nEnsure container system service has been started with `container system start`.\n"
	long := "Error: internalError: \"failed to list containers\" (cause: \"interrupted: \"XPC connection error: Connection invalid\"\")\nEnsure container system service has been started with `container system start`.\n"
	for _, args := range [][]string{{"run", "busybox"}, {"create", "busybox"}, {"image", "pull", "busybox"}, {"image", "ls"}, {"registry", "login", "--password-stdin", "-u", "u", "h"}} {
		out, errOut, code := cli(t, root, nil, args...)
		must.Eq(t, 1, code)
		must.Eq(t, "", out)
		must.Eq(t, short, errOut)
	}
	for _, args := range [][]string{{"list"}, {"ls", "-a"}, {"inspect", "x"}, {"stop", "x"}, {"kill", "x"}, {"delete", "x"}} {
		_, errOut, code := cli(t, root, nil, args...)
		must.Eq(t, 1, code)
		must.Eq(t, long, errOut)
	}
	out, errOut, code := cli(t, root, nil, "system", "status")
	must.Eq(t, 1, code)
	must.Eq(t, "apiserver is not running and not registered with launchd\n", out)
	must.Eq(t, "", errOut)
	out, _, code = cli(t, root, nil, "system", "status", "--format", "json")
	must.Eq(t, 1, code)
	var st map[string]string
	must.NoError(t, json.Unmarshal([]byte(out), &st))
	must.Eq(t, "unregistered", st["status"])
	must.Eq(t, "", st["apiServerVersion"])

	// The knob takes a started apiserver down.
	started := startedRoot(t)
	knob := map[string]string{"CONTAINER_SIM_APISERVER_DOWN": "1"}
	_, errOut, code = cli(t, started, knob, "list")
	must.Eq(t, 1, code)
	must.Eq(t, long, errOut)
	out, _, code = cli(t, started, knob, "system", "status")
	must.Eq(t, 1, code)
	must.Eq(t, "apiserver is not running\n", out)
}

func TestSystemStatusVersion(t *testing.T) {
	root := startedRoot(t)
	out, _, code := cli(t, root, nil, "system", "status")
	must.Eq(t, 0, code)
	must.StrContains(t, out, "FIELD")
	must.StrContains(t, out, "apiserver.version  container-apiserver version 1.2.2 (build: release, commit: 3c4c59c)")
	out, _, code = cli(t, root, nil, "system", "status", "--format", "json")
	must.Eq(t, 0, code)
	var st map[string]string
	must.NoError(t, json.Unmarshal([]byte(out), &st))
	must.Eq(t, "running", st["status"])
	must.Eq(t, root, st["appRoot"])

	out, _, code = cli(t, root, nil, "system", "version", "--format", "json")
	must.Eq(t, 0, code)
	var vs []map[string]string
	must.NoError(t, json.Unmarshal([]byte(out), &vs))
	must.Len(t, 2, vs)
	must.Eq(t, "1.2.2", vs[0]["version"])
	must.Eq(t, "container", vs[0]["appName"])
	must.Eq(t, "container-apiserver version 1.2.2 (build: release, commit: 3c4c59c)", vs[1]["version"])

	out, _, code = cli(t, root, nil, "--version")
	must.Eq(t, 0, code)
	must.Eq(t, "container CLI version 1.2.2 (build: release, commit: 3c4c59c)\n", out)
	out, _, _ = cli(t, root, map[string]string{"CONTAINER_SIM_VERSION": "1.0.0"}, "--version")
	must.Eq(t, "container CLI version 1.0.0 (build: release, commit: 3c4c59c)\n", out)

	_, _, code = cli(t, root, nil, "system", "stop")
	must.Eq(t, 0, code)
	out, _, code = cli(t, root, nil, "system", "version", "--format", "json")
	must.Eq(t, 0, code)
	must.NoError(t, json.Unmarshal([]byte(out), &vs))
	must.Len(t, 1, vs)
}

func TestSystemStartPromptsForKernel(t *testing.T) {
	root := t.TempDir()
	out, errOut, code := cli(t, root, nil, "system", "start")
	must.Eq(t, 1, code)
	must.StrContains(t, out, "Install the recommended default kernel from [")
	must.StrContains(t, errOut, "Error: failed to read user input\n")
	// --disable-kernel-install: started, but containers cannot boot.
	_, _, code = cli(t, root, nil, "system", "start", "--disable-kernel-install")
	must.Eq(t, 0, code)
	_, errOut, code = cli(t, root, nil, "run", "busybox")
	must.Eq(t, 1, code)
	must.StrContains(t, errOut, "default kernel not found at ")
}

func TestSignals(t *testing.T) {
	for in, want := range map[string]int{"TERM": 15, "SIGTERM": 15, "sigterm": 15, "kill": 9, "9": 9, "USR1": 10,
		"SIGUSR2": 12, "RTMIN+2": 36, "RTMAX-1": 63, "winch": 28} {
		n, ok := parseSignal(in)
		must.True(t, ok, must.Sprint(in))
		must.Eq(t, want, n, must.Sprint(in))
	}
	for _, in := range []string{"", "BOGUS", "0", "65", "RTMIN-1", "SIG"} {
		_, ok := parseSignal(in)
		must.False(t, ok, must.Sprint(in))
	}
}

func TestParseMemoryAndPublish(t *testing.T) {
	for in, want := range map[string]uint64{"1g": 1 << 30, "512M": 512 << 20, "300mb": 300 << 20, "1GiB": 1 << 30,
		"209715200": 200 << 20, "1024k": 1 << 20} {
		n, err := parseMemory(in)
		must.NoError(t, err)
		must.Eq(t, want, n, must.Sprint(in))
	}
	p, err := parsePublish("127.0.0.1:8080:80/udp")
	must.NoError(t, err)
	must.Eq(t, PublishPort{HostAddress: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Proto: "udp", Count: 1}, p)
	p, err = parsePublish("9000-9002:90-92")
	must.NoError(t, err)
	must.Eq(t, 3, p.Count)
	must.Eq(t, "0.0.0.0", p.HostAddress)
	_, err = parsePublish("1:80")
	must.ErrorContains(t, err, "invalid publish host port range: 1")
}

// fakeContainer writes a bundle as create would, optionally "running" (the
// test holds the runtime lock).
func fakeContainer(t *testing.T, root, id string, running bool) {
	t.Helper()
	b := filepath.Join(root, "containers", id)
	must.NoError(t, os.MkdirAll(b, 0o755))
	cfg := ContainerConfig{ID: id, CreationDate: time.Date(2026, 8, 1, 10, 0, 0, 0, time.UTC),
		Image:       ImageDescription{Reference: "docker.io/library/busybox:latest", Descriptor: Descriptor{Digest: "sha256:abc", MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 5}},
		InitProcess: ProcessConfig{Executable: "sleep", Arguments: []string{"100"}, Environment: []string{"PATH=/bin"}, WorkingDirectory: "/", User: ProcessUser{ID: &UserID{}}, Rlimits: []Rlimit{}, SupplementalGroups: []uint32{}},
		Labels:      map[string]string{}, Mounts: []Filesystem{}, PublishedPorts: []PublishPort{}, PublishedSockets: []PublishSocket{}, Sysctls: map[string]string{},
		Networks: []NetworkAttachment{{Network: "default", Options: NetworkOptions{Hostname: id, MTU: 1280}}},
		Platform: Platform{OS: "linux", Architecture: "arm64"}, Resources: Resources{CPUOverhead: 1, CPUs: 4, MemoryInBytes: 1 << 30},
		RuntimeHandler: "container-runtime-linux", CapAdd: []string{}, CapDrop: []string{}, StopSignal: "SIGQUIT"}
	must.NoError(t, writeJSONAtomic(filepath.Join(b, "config.json"), cfg))
	must.NoError(t, writeJSONAtomic(filepath.Join(b, "options.json"), simOptions{IPv4: "192.168.64.3/24", Gateway: "192.168.64.1", MACAddress: "02:00:00:00:00:01"}))
	st := runtimeStatus{State: stateStopped, StartedDate: time.Date(2026, 8, 1, 10, 0, 1, 500_000_000, time.UTC)}
	if running {
		st.State = stateRunning
		f, err := flockFile(filepath.Join(b, "runtime.lock"), unix.LOCK_EX)
		must.NoError(t, err)
		t.Cleanup(func() { f.Close() })
	}
	must.NoError(t, writeJSONAtomic(filepath.Join(b, "state.json"), st))
}

func TestJSONShape1x(t *testing.T) {
	root := startedRoot(t)
	fakeContainer(t, root, "web", true)
	out, _, code := cli(t, root, nil, "inspect", "web")
	must.Eq(t, 0, code)
	must.StrHasPrefix(t, "[\n  {\n    \"configuration\" : {\n      \"capAdd\" : [],\n", out)
	must.StrContains(t, out, `"reference" : "docker.io\/library\/busybox:latest"`)
	must.StrContains(t, out, `"creationDate" : "2026-08-01T10:00:00Z"`)
	var got []struct {
		ID     string `json:"id"`
		Status struct {
			State       string           `json:"state"`
			StartedDate string           `json:"startedDate"`
			Networks    []map[string]any `json:"networks"`
		} `json:"status"`
		Configuration map[string]any `json:"configuration"`
	}
	must.NoError(t, json.Unmarshal([]byte(out), &got))
	must.Len(t, 1, got)
	must.Eq(t, "web", got[0].ID)
	must.Eq(t, "running", got[0].Status.State)
	must.Eq(t, "2026-08-01T10:00:01Z", got[0].Status.StartedDate)
	must.Eq(t, "192.168.64.3/24", got[0].Status.Networks[0]["ipv4Address"].(string))
	must.MapNotContainsKey(t, got[0].Configuration, "exitCode")
	must.StrNotContains(t, out, "exitCode")

	list, _, code := cli(t, root, nil, "list", "--format", "json")
	must.Eq(t, 0, code)
	must.StrHasPrefix(t, `[{"configuration":{"capAdd":[],"capDrop":[],"creationDate":"2026-08-01T10:00:00Z",`, list)
	must.StrContains(t, list, `"id":"web","status":{"networks":[{"hostname":"web","ipv4Address":"192.168.64.3\/24",`)

	table, _, _ := cli(t, root, nil, "list")
	must.Eq(t, "ID   IMAGE                             OS     ARCH   STATE    IP               CPUS  MEMORY   STARTED\n"+
		"web  docker.io/library/busybox:latest  linux  arm64  running  192.168.64.3/24  4     1024 MB  2026-08-01T10:00:01Z\n", table)
	q, _, _ := cli(t, root, nil, "list", "-q")
	must.Eq(t, "web\n", q)
}

func TestJSONShapePre1(t *testing.T) {
	root := startedRoot(t)
	fakeContainer(t, root, "old", false)
	knob := map[string]string{"CONTAINER_SIM_PROFILE": "0.12"}
	out, _, code := cli(t, root, knob, "inspect", "old", "missing")
	must.Eq(t, 0, code) // pre-1.0: missing IDs are omitted
	must.StrHasPrefix(t, `[{"status":"stopped","configuration":{"id":"old",`, out)
	must.StrContains(t, out, `"networks":[],"startedDate":807271201.5}]`)
	must.StrNotContains(t, out, "creationDate")
	must.StrNotContains(t, out, "cpuOverhead")
	out, _, code = cli(t, root, knob, "inspect", "missing")
	must.Eq(t, 0, code)
	must.Eq(t, "[]\n", out)
	// 0.12 `list --format json` honours --all: a stopped container is hidden.
	out, _, _ = cli(t, root, knob, "list", "--format", "json")
	must.Eq(t, "[]\n", out)
	out, _, _ = cli(t, root, map[string]string{"CONTAINER_SIM_VERSION": "0.9.0"}, "list", "--format", "json")
	must.StrHasPrefix(t, `[{"status":"stopped"`, out)
	// Before 0.10.0 stop/kill/delete of unknown IDs were silent no-ops.
	out, errOut, code := cli(t, root, map[string]string{"CONTAINER_SIM_VERSION": "0.9.0"}, "stop", "nope")
	must.Eq(t, 0, code)
	must.Eq(t, "", out+errOut)
	table, _, _ := cli(t, root, knob, "list", "-a")
	must.StrHasPrefix(t, "ID   IMAGE                             OS     ARCH   STATE    ADDR  CPUS", table)
}

func TestLogsRules(t *testing.T) {
	root := startedRoot(t)
	fakeContainer(t, root, "lg", false)
	logf := filepath.Join(root, "containers", "lg", "stdio.log")
	must.NoError(t, os.WriteFile(logf, []byte("\n\none\n\ntwo\nthree\n\n"), 0o644))
	out, _, code := cli(t, root, nil, "logs", "lg")
	must.Eq(t, 0, code)
	must.Eq(t, "one\n\ntwo\nthree\n", out)
	out, _, _ = cli(t, root, nil, "logs", "-n", "2", "lg")
	must.Eq(t, "two\nthree\n", out)
	out, _, _ = cli(t, root, nil, "logs", "-n", "10", "lg")
	must.Eq(t, "one\ntwo\nthree\n", out)
	must.NoError(t, os.WriteFile(logf, nil, 0o644))
	out, _, code = cli(t, root, nil, "logs", "lg")
	must.Eq(t, 0, code)
	must.Eq(t, "", out)
	must.NoError(t, os.Remove(logf))
	_, errOut, code := cli(t, root, nil, "logs", "lg")
	must.Eq(t, 1, code)
	must.StrHasPrefix(t, "Error: failed to get logs for container lg (cause: \"internalError: \"failed to open container logs: ", errOut)
}

func TestRenderJSONPretty(t *testing.T) {
	v := []any{jobj{{"b", 1}, {"a", jobj{{"y", []string{}}, {"x", "p/q"}}}}}
	got := string(renderJSON(v, jsonStyle{Sorted: true, Pretty: true, EscapeSlash: true}))
	must.Eq(t, "[\n  {\n    \"a\" : {\n      \"x\" : \"p\\/q\",\n      \"y\" : []\n    },\n    \"b\" : 1\n  }\n]", got)
	must.Eq(t, `[{"b":1,"a":{"y":[],"x":"p/q"}}]`, string(renderJSON(v, jsonStyle{})))
}

func TestNetworkCommands(t *testing.T) {
	root := startedRoot(t)
	out, _, code := cli(t, root, nil, "network", "list")
	must.Eq(t, 0, code)
	must.Eq(t, "NETWORK  SUBNET\ndefault  192.168.64.0/24\n", out)
	out, _, code = cli(t, root, nil, "network", "create", "backend")
	must.Eq(t, 0, code)
	must.Eq(t, "backend\n", out)
	out, _, _ = cli(t, root, nil, "network", "ls", "--format", "json")
	var nets []struct {
		ID     string            `json:"id"`
		Status map[string]string `json:"status"`
	}
	must.NoError(t, json.Unmarshal([]byte(out), &nets))
	must.Len(t, 2, nets)
	must.Eq(t, "default", nets[0].ID)
	must.Eq(t, "192.168.64.1", nets[0].Status["ipv4Gateway"])
	_, errOut, code := cli(t, root, nil, "network", "delete", "default")
	must.Eq(t, 1, code)
	must.Eq(t, "Error: cannot delete a builtin network: default\n", errOut)
	out, _, code = cli(t, root, nil, "network", "rm", "backend")
	must.Eq(t, 0, code)
	must.Eq(t, "backend\n", out)
}

func TestPre1SignalNumbersAreMacOS(t *testing.T) {
	e := &env{ver: version{0, 12, 3, "0.12.3"}}
	n, ok := e.parseSignalFor("USR1")
	must.True(t, ok)
	must.Eq(t, 30, n) // delivered as Linux 30 (SIGPWR) in the VM
	n, _ = e.parseSignalFor("sigterm")
	must.Eq(t, 15, n)
	_, ok = e.parseSignalFor("RTMIN+1")
	must.False(t, ok)
	e.ver = version{1, 2, 2, "1.2.2"}
	n, _ = e.parseSignalFor("USR1")
	must.Eq(t, 10, n)
}

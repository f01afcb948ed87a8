package containersim_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

func TestAttachedRunSeparatesStreamsAndExitCode(t *testing.T) {
	t.Parallel()
	s := newSim(t)
	r := s.run("run", "--progress", "none", "--name", "att", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
	must.Eq(t, 3, r.code)
	must.Eq(t, "out\n", r.stdout)
	must.Eq(t, "err\n", r.stderr)
	// With the default --progress auto and a non-terminal stderr, progress
	// lines precede the container's stderr.
	r = s.run("run", "--rm", "busybox", "sh", "-c", "echo err >&2")
	must.Eq(t, 0, r.code)
	must.Eq(t, "", r.stdout)
	must.StrContains(t, r.stderr, "Starting container")
	must.StrHasSuffix(t, "\nerr\n", r.stderr)
	// The container is kept (no --rm), stopped, with both streams in its log.
	must.Eq(t, "stopped", s.inspect("att").Status.State)
	logs := s.logs("att")
	must.StrContains(t, logs, "out\n")
	must.StrContains(t, logs, "err\n")
	// Arguments after the image pass verbatim, options included.
	r = s.run("run", "--rm", "--progress", "none", "busybox", "echo", "--rm", "-d", "--hostname")
	must.Eq(t, 0, r.code)
	must.Eq(t, "--rm -d --hostname\n", r.stdout)
	must.Eq(t, "", r.stderr)
	// --rm removed it; only "att" is left.
	must.Eq(t, "att\n", s.must("list", "-a", "-q"))
	// stdin with -i.
	cmd := s.command(nil, "run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z")
	cmd.Stdin = strings.NewReader("shout\n")
	out, err := cmd.Output()
	must.NoError(t, err)
	must.Eq(t, "SHOUT\n", string(out))
	// -t: one pty, stderr merged into stdout.
	r = s.run("run", "--rm", "-t", "--progress", "none", "busybox", "sh", "-c", "echo to-err >&2; tty")
	must.Eq(t, 0, r.code)
	must.StrContains(t, r.stdout, "to-err")
	must.StrContains(t, r.stdout, "/dev/pts/")
	must.Eq(t, "", r.stderr)
	// A missing executable: error, exit 1, and the container is deleted.
	r = s.run("run", "--name", "bad", "busybox", "no-such-binary")
	must.Eq(t, 1, r.code)
	must.StrContains(t, r.stderr, "failed to find target executable no-such-binary")
	must.Eq(t, 1, s.run("inspect", "bad").code)
	// An existing name is refused.
	r = s.run("run", "--name", "att", "busybox", "true")
	must.Eq(t, 1, r.code)
	must.Eq(t, "Error: container with id att already exists\n", r.stderr)
}

func TestDetachedLifecycle(t *testing.T) {
	t.Parallel()
	s := newSim(t)
	script := `echo hello; trap 'echo bye; exit 0' TERM; while :; do sleep 0.05; done`
	must.Eq(t, "web\n", s.must("run", "-d", "--name", "web", "busybox", "sh", "-c", script))
	c := s.inspect("web")
	must.Eq(t, "running", c.Status.State)
	must.Len(t, 1, c.Status.Networks)
	must.Eq(t, "192.168.64.2/24", c.Status.Networks[0].IPv4Address)
	must.StrHasSuffix(t, "Z", c.Status.StartedDate)
	must.StrContains(t, s.must("list"), "web  docker.io/library/busybox:latest")
	waitFor(t, "hello in the log", 5*time.Second, func() bool { return s.logs("web") == "hello\n" })
	// Hostname is the container ID; the address lives inside its namespace.
	must.Eq(t, "web\n", s.must("exec", "web", "hostname"))
	must.StrContains(t, s.must("exec", "web", "ip", "addr", "show", "eth0"), "inet 192.168.64.2/24")

	r := s.run("delete", "web")
	must.Eq(t, 1, r.code)
	must.Eq(t, "Error: internalError: \"failed to delete container\" (cause: \"invalidState: \"container web is running and can not be deleted\"\")\n", r.stderr)

	must.Eq(t, "web\n", s.must("stop", "web"))
	c = s.inspect("web")
	must.Eq(t, "stopped", c.Status.State)
	must.Len(t, 0, c.Status.Networks)
	must.StrHasSuffix(t, "Z", c.Status.StartedDate) // kept after stop
	must.Eq(t, "hello\nbye\n", s.logs("web"))
	must.Eq(t, "bye\n", s.logs("web", "-n", "1"))
	must.Eq(t, "", s.must("list", "-q"))
	// stop is idempotent; kill of a stopped container is an error.
	must.Eq(t, "web\n", s.must("stop", "web"))
	r = s.run("kill", "web")
	must.Eq(t, 1, r.code)
	must.Eq(t, "Error: internalError: \"failed to kill container\" (cause: \"invalidState: \"no runtime client exists: container is stopped\"\")\n", r.stderr)
	r = s.run("exec", "web", "true")
	must.Eq(t, 1, r.code)
	must.Eq(t, "Error: container web is not running\n", r.stderr)

	// Restart: the log is truncated at every start.
	must.Eq(t, "web\n", s.must("start", "web"))
	must.Eq(t, "running", s.inspect("web").Status.State)
	waitFor(t, "fresh log", 5*time.Second, func() bool { return s.logs("web") == "hello\n" })
	r = s.run("start", "-a", "web")
	must.Eq(t, 1, r.code)
	must.Eq(t, "Error: attach is currently unsupported on already running containers\n", r.stderr)
	// kill -s TERM delivers TERM (the trap answers) and returns.
	must.Eq(t, "web\n", s.must("kill", "-s", "sigterm", "web"))
	waitFor(t, "exit after TERM", 5*time.Second, func() bool { return s.inspect("web").Status.State == "stopped" })
	r = s.run("kill", "-s", "NOPE", "web")
	must.Eq(t, 1, r.code)
	must.StrContains(t, r.stderr, "invalid signal: NOPE")

	// Default kill is KILL and waits for the cleanup.
	s.must("start", "web")
	must.Eq(t, "web\n", s.must("kill", "web"))
	must.Eq(t, "stopped", s.inspect("web").Status.State)

	// delete -f of a running container; then it is gone.
	s.must("start", "web")
	must.Eq(t, "web\n", s.must("delete", "-f", "web"))
	r = s.run("inspect", "web")
	must.Eq(t, 1, r.code)
	must.Eq(t, "Error: container not found: web\n", r.stderr)
	must.Eq(t, "", r.stdout)
	_, err := os.Stat(s.bundle("web"))
	must.True(t, os.IsNotExist(err))
}

func TestStopEscalatesToKillAfterTimeout(t *testing.T) {
	t.Parallel()
	s := newSim(t)
	// PID 1 without a TERM handler ignores TERM: stop waits -t, then KILLs.
	s.must("run", "-d", "--name", "stubborn", "busybox", "sleep", "1000")
	start := time.Now()
	must.Eq(t, "stubborn\n", s.must("stop", "-t", "1", "stubborn"))
	took := time.Since(start)
	must.Greater(t, 900*time.Millisecond, took)
	must.Less(t, 5*time.Second, took)
	must.Eq(t, "stopped", s.inspect("stubborn").Status.State)
	// An explicit signal is used as given.
	s.must("start", "stubborn")
	start = time.Now()
	s.must("stop", "-s", "KILL", "stubborn")
	must.Less(t, 900*time.Millisecond, time.Since(start))
}

func TestKillingAttachedCLILeavesContainerRunning(t *testing.T) {
	t.Parallel()
	s := newSim(t)
	cmd := s.command(nil, "run", "--name", "survivor", "busybox", "sh", "-c", "echo ready; while :; do sleep 0.05; done")
	stdout, err := cmd.StdoutPipe()
	must.NoError(t, err)
	must.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	must.NoError(t, err)
	must.Eq(t, "ready\n", line)
	must.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	must.Eq(t, "running", s.inspect("survivor").Status.State)
	must.Eq(t, "alive\n", s.must("exec", "survivor", "echo", "alive"))
	// SIGTERM to an attached 1.x CLI is caught (not forwarded): the CLI stays.
	cmd = s.command(nil, "run", "--name", "term", "busybox", "sh", "-c", "echo ready; while :; do sleep 0.05; done")
	stdout, err = cmd.StdoutPipe()
	must.NoError(t, err)
	must.NoError(t, cmd.Start())
	_, err = bufio.NewReader(stdout).ReadString('\n')
	must.NoError(t, err)
	must.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	must.Eq(t, "running", s.inspect("term").Status.State)
	// Stopping the container ends the attached CLI with the exit status.
	s.must("kill", "term")
	must.Error(t, cmd.Wait())
	must.Eq(t, 137, cmd.ProcessState.ExitCode())
}

func TestExec(t *testing.T) {
	t.Parallel()
	s := newSim(t)
	s.must("run", "-d", "--name", "ex", "-e", "FROM_RUN=1", "busybox", "sleep", "1000")
	r := s.run("exec", "ex", "sh", "-c", "echo o; echo e >&2; exit 7")
	must.Eq(t, 7, r.code)
	must.Eq(t, "o\n", r.stdout)
	must.Eq(t, "e\n", r.stderr)
	// Inherits the init process's environment, appends -e.
	out := s.must("exec", "-e", "EXTRA=2", "ex", "sh", "-c", "echo $FROM_RUN $EXTRA")
	must.Eq(t, "1 2\n", out)
	must.Eq(t, "65534\n", s.must("exec", "-u", "nobody", "ex", "id", "-u"))
	must.Eq(t, "/tmp\n", s.must("exec", "-w", "/tmp", "ex", "pwd"))
	// Arguments after the ID pass verbatim.
	must.Eq(t, "-u x\n", s.must("exec", "ex", "echo", "-u", "x"))
	cmd := s.command(nil, "exec", "-i", "ex", "cat")
	cmd.Stdin = strings.NewReader("piped\n")
	b, err := cmd.Output()
	must.NoError(t, err)
	must.Eq(t, "piped\n", string(b))
	start := time.Now()
	must.Eq(t, "ex\n", s.must("exec", "-d", "ex", "sh", "-c", "sleep 1000 & echo detached > /tmp/d; sleep 1000"))
	must.Less(t, 5*time.Second, time.Since(start)) // returns at once, not when the process ends
	waitFor(t, "detached exec", 5*time.Second, func() bool { return s.run("exec", "ex", "cat", "/tmp/d").stdout == "detached\n" })
	r = s.run("exec", "ex")
	must.Eq(t, 1, r.code)
	must.Eq(t, "Error: no command specified for exec\n", r.stderr)
	// A background process with its streams redirected does not hold exec.
	start = time.Now()
	out = s.must("exec", "ex", "sh", "-c", "sleep 1000 >/dev/null 2>&1 & echo started")
	must.Eq(t, "started\n", out)
	must.Less(t, 5*time.Second, time.Since(start))
	// Exec'd processes are not logged.
	must.Eq(t, "", s.logs("ex"))
	s.must("kill", "ex")
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestPublishedPortAndVolumes(t *testing.T) {
	t.Parallel()
	s := newSim(t)
	www := t.TempDir()
	must.NoError(t, os.WriteFile(filepath.Join(www, "index.html"), []byte("served from the host\n"), 0o644))
	port := freePort(t)
	s.must("run", "-d", "--name", "http", "-p", strconv.Itoa(port)+":8080", "-v", www+":/www:ro",
		"busybox", "httpd", "-f", "-p", "8080", "-h", "/www")
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/index.html"
	var body string
	waitFor(t, "published port", 5*time.Second, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == 200
	})
	must.Eq(t, "served from the host\n", body)
	// The read-only bind refuses writes.
	r := s.run("exec", "http", "sh", "-c", "echo x > /www/new")
	must.NotEq(t, 0, r.code)
	s.must("kill", "http")
	// After stop the port is closed.
	_, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	must.Error(t, err)

	// A writable bind, --read-only root, --tmpfs.
	data := t.TempDir()
	r = s.run("run", "--rm", "--read-only", "--tmpfs", "/scratch", "-v", data+":/data", "busybox", "sh", "-c",
		"echo from-container > /data/out && echo ok > /scratch/x && cat /scratch/x && touch /rootfile")
	must.Eq(t, 1, r.code)
	must.Eq(t, "ok\n", r.stdout)
	must.StrContains(t, r.stderr, "Read-only file system")
	b, err := os.ReadFile(filepath.Join(data, "out"))
	must.NoError(t, err)
	must.Eq(t, "from-container\n", string(b))
	// --network none: only lo.
	out := s.must("run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net")
	must.Eq(t, "lo\n", out)
	// mac= and mtu= network options reach eth0 and the attachment.
	s.must("run", "-d", "--name", "mac", "--network", "default,mac=02:11:22:33:44:55,mtu=1500", "busybox", "sleep", "1000")
	must.StrContains(t, s.must("exec", "mac", "ip", "link", "show", "eth0"), "mtu 1500")
	must.StrContains(t, s.must("exec", "mac", "cat", "/sys/class/net/eth0/address"), "02:11:22:33:44:55")
	must.StrContains(t, s.must("inspect", "mac"), `"macAddress" : "02:11:22:33:44:55"`)
	s.must("kill", "mac")
}

func TestEnvUserWorkdirDNS(t *testing.T) {
	t.Parallel()
	s := newSim(t)
	envFile := filepath.Join(t.TempDir(), "env")
	must.NoError(t, os.WriteFile(envFile, []byte("# comment\n\nB=from-file\nA=overridden\n"), 0o644))
	out := s.must("run", "--rm", "--env-file", envFile, "-e", "A=1", "-u", "nobody", "-w", "/tmp",
		"--dns", "10.0.0.53", "--dns-search", "example.test", "busybox", "sh", "-c",
		"echo $A $B; id -u; pwd; cat /etc/resolv.conf")
	must.Eq(t, "1 from-file\n65534\n/tmp\nnameserver 10.0.0.53\nsearch example.test\n", out)
	out = s.must("run", "--rm", "--entrypoint", "echo", "busybox", "via", "entrypoint")
	must.Eq(t, "via entrypoint\n", out)
	out = s.must("run", "--rm", "--uid", "1000", "--gid", "1000", "busybox", "id")
	must.StrHasPrefix(t, "uid=1000", out)
	// Labels and memory are recorded in the configuration.
	s.must("create", "--name", "cfg", "-m", "300M", "-l", "team=infra", "busybox")
	var got []map[string]any
	must.NoError(t, json.Unmarshal([]byte(s.must("inspect", "cfg")), &got))
	conf := got[0]["configuration"].(map[string]any)
	must.Eq(t, map[string]any{"team": "infra"}, conf["labels"].(map[string]any))
	must.Eq(t, float64(300<<20), conf["resources"].(map[string]any)["memoryInBytes"].(float64))
	must.Eq(t, "stopped", got[0]["status"].(map[string]any)["state"].(string))
	out = s.must("start", "-a", "cfg")
	must.Eq(t, "", out)

	// Memory is enforced through the cgroup; --ulimit applies; --cidfile is written.
	cid := filepath.Join(t.TempDir(), "cid")
	out = s.must("run", "--rm", "-m", "300M", "--ulimit", "nofile=321:654", "--cidfile", cid, "--name", "lim",
		"busybox", "sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; ulimit -n")
	must.Eq(t, strconv.Itoa(300<<20)+"\n321\n", out)
	b, err := os.ReadFile(cid)
	must.NoError(t, err)
	must.Eq(t, "lim", string(b))
}

func TestStats(t *testing.T) {
	t.Parallel()
	s := newSim(t)
	s.must("run", "-d", "--name", "st", "-m", "256M", "busybox", "sleep", "1000")
	s.must("create", "--name", "idle", "busybox")
	start := time.Now()
	out := s.must("stats", "--no-stream", "--format", "json", "st", "idle")
	must.Greater(t, 2*time.Second, time.Since(start)) // two samples 2 s apart
	var got []map[string]any
	must.NoError(t, json.Unmarshal([]byte(out), &got))
	must.Len(t, 1, got) // the stopped one is skipped
	must.Eq(t, "st", got[0]["id"].(string))
	must.Eq(t, float64(256<<20), got[0]["memoryLimitBytes"].(float64))
	for _, k := range []string{"cpuUsageUsec", "memoryUsageBytes", "numProcesses", "networkRxBytes", "networkTxBytes"} {
		must.MapContainsKey(t, got[0], k)
	}
	must.MapNotContainsKey(t, got[0], "name")
	must.Eq(t, float64(1), got[0]["numProcesses"].(float64))
	r := s.runEnv([]string{"CONTAINER_SIM_STATS_FAIL=1"}, "stats", "--no-stream", "--format", "json")
	must.Eq(t, 1, r.code)
	must.StrContains(t, r.stderr, "failed to get statistics for container st")
	s.must("kill", "st")
	must.Eq(t, "[]\n", s.runEnv([]string{"CONTAINER_SIM_STATS_INTERVAL=10ms"}, "stats", "--no-stream", "--format", "json").stdout)
}

func TestFaultKnobs(t *testing.T) {
	t.Parallel()
	s := newSim(t)
	// Slow boot: run -d returns after the delay; a stop during boot aborts it.
	start := time.Now()
	s.runEnv([]string{"CONTAINER_SIM_START_DELAY=700ms"}, "run", "-d", "--name", "slow", "busybox", "sleep", "1000")
	must.Greater(t, 700*time.Millisecond, time.Since(start))
	must.Eq(t, "running", s.inspect("slow").Status.State)
	s.must("kill", "slow")

	// The VM dies: an attached run ends with 255, the container is stopped.
	start = time.Now()
	r := s.runEnv([]string{"CONTAINER_SIM_DIE_AFTER=300ms"}, "run", "--name", "dies", "busybox", "sleep", "1000")
	must.Eq(t, 255, r.code)
	must.Greater(t, 300*time.Millisecond, time.Since(start))
	must.Eq(t, "stopped", s.inspect("dies").Status.State)
	must.StrContains(t, s.must("logs", "--boot", "dies"), "virtual machine stopped unexpectedly")

	// sim fault die / crash-runtime on detached containers.
	s.must("run", "-d", "--name", "f1", "busybox", "sleep", "1000")
	s.must("sim", "fault", "f1", "die")
	waitFor(t, "f1 stopped", 5*time.Second, func() bool { return s.inspect("f1").Status.State == "stopped" })
	s.must("run", "-d", "--name", "f2", "busybox", "sleep", "1000")
	s.must("sim", "fault", "f2", "crash-runtime")
	must.Eq(t, "stopped", s.inspect("f2").Status.State)
	must.Eq(t, "f2\n", s.must("start", "f2")) // restartable after the crash

	r = s.runEnv([]string{"CONTAINER_SIM_EXEC_FAIL=1"}, "exec", "f2", "true")
	must.Eq(t, 1, r.code)
	must.StrHasPrefix(t, "Error: internalError: \"failed to start process in container f2\"", r.stderr)

	r = s.runEnv([]string{"CONTAINER_SIM_PULL_FAIL=1"}, "image", "pull", "example.com/x:1")
	must.Eq(t, 1, r.code)
	must.Eq(t, "", r.stdout)
	must.StrContains(t, r.stderr, "[1/2] Fetching image")
	must.StrContains(t, r.stderr, "Error: internalError: \"failed to fetch image example.com/x:1\"")
	r = s.runEnv([]string{"CONTAINER_SIM_PULL_FAIL=1"}, "image", "pull", "--progress", "none", "example.com/x:1")
	must.StrNotContains(t, r.stderr, "Fetching")

	r = s.runEnv([]string{"CONTAINER_SIM_APISERVER_DOWN=1"}, "run", "busybox", "true")
	must.Eq(t, 1, r.code)
	must.Eq(t, "Error: interrupted: \"XPC connection error: Connection invalid\"\nEnsure container system service has been started with `container system start`.\n", r.stderr)
	s.must("kill", "f2")
}

func TestSystemStopStopsEverything(t *testing.T) {
	t.Parallel()
	s := newSim(t)
	s.must("run", "-d", "--name", "a1", "busybox", "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.05; done")
	s.must("run", "-d", "--name", "a2", "--rm", "busybox", "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.05; done")
	s.must("system", "stop")
	r := s.run("list")
	must.Eq(t, 1, r.code)
	must.StrContains(t, r.stderr, "XPC connection error")
	s.must("system", "start")
	out := s.must("list", "-a", "-q")
	must.Eq(t, "a1\n", out) // a2 was --rm
	must.Eq(t, "stopped", s.inspect("a1").Status.State)
}

func TestInitForwardsSignalsAndReaps(t *testing.T) {
	t.Parallel()
	s := newSim(t)
	// With --init the process is not PID 1: TERM's default action applies.
	s.must("run", "-d", "--init", "--name", "in", "busybox", "sleep", "1000")
	start := time.Now()
	s.must("stop", "-t", "10", "in")
	must.Less(t, 5*time.Second, time.Since(start))
	must.True(t, s.inspect("in").Configuration.InitProcess.Environment != nil)
	must.StrContains(t, s.must("inspect", "in"), `"useInit" : true`)
	// Exit status and stdin pass through the init.
	cmd := s.command(nil, "run", "--rm", "-i", "--init", "busybox", "sh", "-c", "cat; exit 6")
	cmd.Stdin = strings.NewReader("through init\n")
	out, err := cmd.Output()
	must.Eq(t, "through init\n", string(out))
	must.Error(t, err)
	must.Eq(t, 6, cmd.ProcessState.ExitCode())
}

func TestConcurrentRunsGetDistinctAddresses(t *testing.T) {
	t.Parallel()
	s := newSim(t)
	const n = 4
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			cmd := s.command(nil, "run", "-d", "--name", "c"+strconv.Itoa(i), "busybox", "sleep", "1000")
			out, err := cmd.CombinedOutput()
			if err != nil {
				err = fmt.Errorf("%v: %s", err, out)
			}
			errs <- err
		}()
	}
	for i := 0; i < n; i++ {
		must.NoError(t, <-errs)
	}
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		c := s.inspect("c" + strconv.Itoa(i))
		must.Eq(t, "running", c.Status.State)
		ip := c.Status.Networks[0].IPv4Address
		must.False(t, seen[ip], must.Sprint("duplicate ", ip))
		seen[ip] = true
	}
	// Deleting frees an address for reuse (the lowest free one is taken).
	freed := s.inspect("c0").Status.Networks[0].IPv4Address
	s.must("delete", "-f", "c0")
	s.must("run", "-d", "--name", "again", "busybox", "sleep", "1000")
	must.Eq(t, freed, s.inspect("again").Status.Networks[0].IPv4Address)
}

func TestExecTTY(t *testing.T) {
	t.Parallel()
	s := newSim(t)
	s.must("run", "-d", "--name", "tty", "busybox", "sleep", "1000")
	r := s.run("exec", "-t", "tty", "sh", "-c", "tty; echo to-err >&2; exit 3")
	must.Eq(t, 3, r.code)
	must.StrContains(t, r.stdout, "/dev/pts/")
	must.StrContains(t, r.stdout, "to-err") // one terminal: stderr merged
	must.Eq(t, "", r.stderr)
	s.must("kill", "tty")
}

func TestPre1AttachedCLIForwardsSignals(t *testing.T) {
	t.Parallel()
	s := newSim(t, "CONTAINER_SIM_PROFILE=0.12")
	cmd := s.command(nil, "run", "--name", "fwd", "busybox", "sh", "-c", "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.05; done")
	stdout, err := cmd.StdoutPipe()
	must.NoError(t, err)
	must.NoError(t, cmd.Start())
	rd := bufio.NewReader(stdout)
	line, err := rd.ReadString('\n')
	must.NoError(t, err)
	must.Eq(t, "ready\n", line)
	must.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	line, err = rd.ReadString('\n')
	must.NoError(t, err)
	must.Eq(t, "got-term\n", line)
	must.Error(t, cmd.Wait())
	must.Eq(t, 42, cmd.ProcessState.ExitCode())
	var got []map[string]any
	must.NoError(t, json.Unmarshal([]byte(s.must("inspect", "fwd")), &got))
	must.Eq(t, "stopped", got[0]["status"].(string)) // pre-1.0: status is a string
}

func TestCapabilitiesAndShm(t *testing.T) {
	t.Parallel()
	s := newSim(t)
	capEff := func(args ...string) string {
		a := append(append([]string{"run", "--rm", "--progress", "none"}, args...), "busybox", "grep", "CapEff", "/proc/self/status")
		return strings.Fields(s.must(a...))[1]
	}
	must.Eq(t, "0000000000000000", capEff("--cap-drop", "ALL"))
	must.Eq(t, "0000000000200000", capEff("--cap-drop", "ALL", "--cap-add", "sys_admin")) // bit 21
	must.Eq(t, "00000000a80425fb", capEff())                                              // the default set
	out := s.must("run", "--rm", "--shm-size", "8m", "busybox", "df", "-k", "/dev/shm")
	must.StrContains(t, out, " 8192 ")
}

func TestNamedAndAnonymousVolumes(t *testing.T) {
	t.Parallel()
	s := newSim(t)
	must.Eq(t, "cache\n", s.must("volume", "create", "cache"))
	s.must("run", "--rm", "--progress", "none", "-v", "cache:/data", "busybox", "sh", "-c", "echo kept > /data/f")
	must.Eq(t, "kept\n", s.must("run", "--rm", "--mount", "type=volume,source=cache,target=/d,readonly", "busybox", "cat", "/d/f"))
	// A missing named volume is created with a warning.
	r := s.run("run", "--rm", "--progress", "none", "-v", "auto:/x", "busybox", "true")
	must.Eq(t, 0, r.code)
	must.StrContains(t, r.stderr, "volume auto does not exist, creating it")
	s.must("create", "--name", "user", "-v", "cache:/data", "-v", "/anon", "busybox")
	r = s.run("volume", "delete", "cache")
	must.Eq(t, 1, r.code)
	must.StrContains(t, r.stderr, "volume cache is in use by container(s): user")
	must.Eq(t, 3, len(strings.Fields(s.must("volume", "list", "-q")))) // cache, auto, the anonymous one
	s.must("delete", "user")
	must.Eq(t, "cache\n", s.must("volume", "rm", "cache"))
	r = s.run("volume", "inspect", "cache")
	must.Eq(t, 1, r.code)
}

func TestRootfsChangesPersistPerContainer(t *testing.T) {
	t.Parallel()
	s := newSim(t)
	script := "cat /etc/marker 2>/dev/null; echo changed > /etc/marker; rm -f /bin/vi"
	must.Eq(t, "", s.must("run", "--name", "keep", "--progress", "none", "busybox", "sh", "-c", script))
	must.Eq(t, "changed\n", s.must("start", "-a", "keep")) // kept across restarts
	// Another container of the same image starts from the pristine image.
	out := s.must("run", "--rm", "--progress", "none", "busybox", "sh", "-c", "ls /etc/marker 2>&1; ls /bin/vi")
	must.Eq(t, "ls: /etc/marker: No such file or directory\n/bin/vi\n", out)
}

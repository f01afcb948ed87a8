package containerdriver

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/helper/uuid"
	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/drivers/testutils"
	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/applecontainer"
)

// TestDriver_BatchExitCodeAndSeparateStreams: the container's real exit
// code, stdout and stderr in their own logs, no CLI text in either, and
// the container deleted on destroy.
func TestDriver_BatchExitCodeAndSeparateStreams(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "batch", TaskConfig{Command: "sh", Args: []string{"-c", "echo to-stdout; echo to-stderr >&2; exit 3"}})
	mkAllocDir(t, h, task, true)
	handle := start(t, h, task)
	id := containerOf(t, handle)
	res := waitExit(t, h, task.ID, time.Minute)
	must.Eq(t, 3, res.ExitCode)
	must.NoError(t, res.Err)
	logEventually(t, task, "stdout", "to-stdout\n")
	logEventually(t, task, "stderr", "to-stderr\n")
	must.Eq(t, "to-stdout\n", readLog(t, task, "stdout"))
	must.Eq(t, "to-stderr\n", readLog(t, task, "stderr"))
	must.True(t, e.containerExists(id))
	must.NoError(t, h.DestroyTask(task.ID, true))
	must.False(t, e.containerExists(id))
	must.True(t, strings.HasSuffix(id, task.AllocID))
}

// TestDriver_AllocDirsAndEnvironment: /alloc, /local and /secrets are the
// task's directories, NOMAD_*_DIR point at them, the task's env is set,
// and what the container writes to /alloc is on the host.
func TestDriver_AllocDirsAndEnvironment(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "dirs", TaskConfig{Command: "sh", Args: []string{"-c",
		`echo "$NOMAD_ALLOC_DIR $NOMAD_TASK_DIR $NOMAD_SECRETS_DIR $GREETING"; cat /local/in.txt /secrets/token; echo written > /alloc/out.txt`},
		Env: stringMap{"GREETING": "hello world"}})
	mkAllocDir(t, h, task, true)
	td := task.TaskDir()
	must.NoError(t, os.WriteFile(filepath.Join(td.LocalDir, "in.txt"), []byte("from-local\n"), 0o644))
	must.NoError(t, os.WriteFile(filepath.Join(td.SecretsDir, "token"), []byte("from-secrets\n"), 0o600))
	start(t, h, task)
	res := waitExit(t, h, task.ID, time.Minute)
	must.Eq(t, 0, res.ExitCode, must.Sprint(readLog(t, task, "stderr")))
	logEventually(t, task, "stdout", "from-secrets\n")
	must.Eq(t, "/alloc /local /secrets hello world\nfrom-local\nfrom-secrets\n", readLog(t, task, "stdout"))
	b, err := os.ReadFile(filepath.Join(td.SharedAllocDir, "out.txt"))
	must.NoError(t, err)
	must.Eq(t, "written\n", string(b))
	// The environment file the CLI read is gone: secrets do not stay on disk.
	_, err = os.Stat(filepath.Join(td.Dir, stateDirName, envFileName))
	must.True(t, os.IsNotExist(err))
}

// tickScript prints numbered lines, answers USR1 and exits 0 on TERM.
const tickScript = `trap 'echo got-usr1' USR1
trap 'echo stopping; exit 0' TERM
echo started >&2
i=0
while true; do echo "tick $i"; i=$((i+1)); sleep 0.1; done`

// TestDriver_SignalAndStopWithKillSignal: nomad alloc signal reaches the
// process; stop sends the task's kill_signal and the clean exit is kept.
func TestDriver_SignalAndStopWithKillSignal(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "svc", TaskConfig{Command: "sh", Args: []string{"-c", tickScript}})
	mkAllocDir(t, h, task, true)
	start(t, h, task)
	logEventually(t, task, "stdout", "tick 1\n")
	must.NoError(t, h.SignalTask(task.ID, "SIGUSR1"))
	logEventually(t, task, "stdout", "got-usr1\n")
	must.Error(t, h.SignalTask(task.ID, "SIGNOPE"))
	must.NoError(t, h.StopTask(task.ID, 10*time.Second, "SIGTERM"))
	res := waitExit(t, h, task.ID, 30*time.Second)
	must.Eq(t, 0, res.ExitCode)
	logEventually(t, task, "stdout", "stopping\n")
	must.Eq(t, "started\n", readLog(t, task, "stderr"))
}

// TestDriver_StopKillsAfterKillTimeout: a process ignoring the signal is
// killed after kill_timeout, and the exit code says so.
func TestDriver_StopKillsAfterKillTimeout(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "stubborn", TaskConfig{Command: "sh", Args: []string{"-c", `trap '' TERM; echo up; while true; do sleep 0.1; done`}})
	mkAllocDir(t, h, task, true)
	start(t, h, task)
	logEventually(t, task, "stdout", "up\n")
	begin := time.Now()
	must.NoError(t, h.StopTask(task.ID, time.Second, "SIGTERM"))
	res := waitExit(t, h, task.ID, 30*time.Second)
	must.Eq(t, 137, res.ExitCode)
	must.Less(t, 20*time.Second, time.Since(begin))
}

// TestDriver_Exec: nomad alloc exec's conformance cases (stdout/stderr,
// exit codes, stdin, TTY with its size) and script-check exec.
func TestDriver_Exec(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "exec", TaskConfig{Command: "sh", Args: []string{"-c", "echo up; while true; do sleep 0.2; done"}})
	mkAllocDir(t, h, task, true)
	start(t, h, task)
	logEventually(t, task, "stdout", "up\n")
	// Nomad's cases; its FS-isolation case also checks the test host's
	// freezer cgroup, which a simulator container does not inherit.
	testutils.TestExecTaskStreamingBasicResponses(t, h, task.ID)

	r, err := h.ExecTask(task.ID, []string{"sh", "-c", "echo checked; echo oops >&2; exit 2"}, 30*time.Second)
	must.NoError(t, err)
	must.Eq(t, 2, r.ExitResult.ExitCode)
	must.Eq(t, "checked\n", string(r.Stdout))
	must.Eq(t, "oops\n", string(r.Stderr))
	// The exec runs inside the container, not on the host.
	code, out, _ := testutils.ExecTask(t, h, task.ID, "hostname", false, "")
	must.Eq(t, 0, code)
	must.Eq(t, containerName(task.AllocID, task.Name), strings.TrimSpace(out))
}

// TestDriver_PublishedPortReachable: a group port is published on the
// host's loopback and answers.
func TestDriver_PublishedPortReachable(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	port := freePort(t)
	task := newTask(t, "web", TaskConfig{Command: "httpd", Args: []string{"-f", "-p", "8080", "-h", "/local/www"}, Ports: []string{"http"}})
	ports := structs.AllocatedPorts{{Label: "http", Value: port, To: 8080, HostIP: "127.0.0.1"}}
	task.Resources.Ports = &ports
	mkAllocDir(t, h, task, true)
	www := filepath.Join(task.TaskDir().LocalDir, "www")
	must.NoError(t, os.MkdirAll(www, 0o755))
	must.NoError(t, os.WriteFile(filepath.Join(www, "index.html"), []byte("hello from the container\n"), 0o644))
	start(t, h, task)
	var body string
	eventually(t, 30*time.Second, "the published port to answer", func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == 200
	})
	must.Eq(t, "hello from the container\n", body)
	must.NoError(t, h.StopTask(task.ID, 5*time.Second, ""))
	waitExit(t, h, task.ID, 30*time.Second)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestDriver_DisableLogCollection: no log FIFO is opened and the exit code
// is still known.
func TestDriver_DisableLogCollection(t *testing.T) {
	e := newTestEnv(t)
	pc := e.pluginConfig()
	pc.DisableLogCollection = true
	h, d := e.newHarness(pc)
	// (Nomad 1.11's gRPC server does not carry this capability to the
	// client, which then still runs logmon; the driver writes nothing.)
	caps, err := d.Capabilities()
	must.NoError(t, err)
	must.True(t, caps.DisableLogCollection)
	task := newTask(t, "quiet", TaskConfig{Command: "sh", Args: []string{"-c", "echo not-collected; exit 4"}})
	mkAllocDir(t, h, task, false)
	start(t, h, task)
	res := waitExit(t, h, task.ID, time.Minute)
	must.Eq(t, 4, res.ExitCode)
	must.Eq(t, "", readLog(t, task, "stdout"))
}

// TestDriver_HostnameNamesTheContainer: the hostname option becomes the
// container's ID, which Apple container uses as its hostname.
func TestDriver_HostnameNamesTheContainer(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "named", TaskConfig{Hostname: "db-primary", Command: "hostname"})
	mkAllocDir(t, h, task, true)
	handle := start(t, h, task)
	must.Eq(t, "db-primary", containerOf(t, handle))
	must.Eq(t, 0, waitExit(t, h, task.ID, time.Minute).ExitCode)
	logEventually(t, task, "stdout", "db-primary\n")

	// Another allocation asking for the same hostname is refused clearly.
	other := newTask(t, "named", TaskConfig{Hostname: "db-primary", Command: "hostname"})
	mkAllocDir(t, h, other, false)
	_, _, err := h.StartTask(other)
	must.ErrorContains(t, err, "already exists")
	must.ErrorContains(t, err, "hostname")
}

// TestDriver_GCOffKeepsTheContainerUntilTheTaskRestarts: gc.container =
// false leaves the stopped container for inspection; the task's next start
// replaces it.
func TestDriver_GCOffKeepsTheContainerUntilTheTaskRestarts(t *testing.T) {
	e := newTestEnv(t)
	pc := e.pluginConfig()
	pc.GC.Container = false
	h, _ := e.newHarness(pc)
	task := newTask(t, "kept", TaskConfig{Command: "sh", Args: []string{"-c", "echo run; exit 1"}})
	mkAllocDir(t, h, task, true)
	handle := start(t, h, task)
	id := containerOf(t, handle)
	must.Eq(t, 1, waitExit(t, h, task.ID, time.Minute).ExitCode)
	must.NoError(t, h.DestroyTask(task.ID, true))
	must.Eq(t, applecontainer.StateStopped, e.state(id))

	// Nomad restarts the task: a new task ID, the same name.
	again := *task
	again.ID = uuid.Generate()
	handle2 := start(t, h, &again)
	must.Eq(t, id, containerOf(t, handle2))
	must.Eq(t, 1, waitExit(t, h, again.ID, time.Minute).ExitCode)
	must.NoError(t, h.DestroyTask(again.ID, true))
	e.keep[id] = true
}

// TestDriver_StartFailureIsADriverError: a container whose process cannot
// start (missing executable) fails StartTask with the CLI's reason, not
// with an exit code; nothing of it reaches stdout and the container is
// gone.
func TestDriver_StartFailureIsADriverError(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "broken", TaskConfig{Command: "/no/such/program"})
	mkAllocDir(t, h, task, true)
	_, _, err := h.StartTask(task)
	t.Logf("start error: %v", err)
	must.ErrorContains(t, err, "failed to start")
	must.ErrorContains(t, err, "/no/such/program")
	must.Eq(t, "", readLog(t, task, "stdout"))
	must.False(t, e.containerExists(containerName(task.AllocID, task.Name)))
}

// TestDriver_TTYTask: a task with tty = true runs attached on a terminal
// inside the container; its output (one stream) reaches stdout.
func TestDriver_TTYTask(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "tty", TaskConfig{TTY: true, Command: "sh", Args: []string{"-c", "[ -t 1 ] && echo on-a-terminal; echo to-stderr >&2; exit 2"}})
	mkAllocDir(t, h, task, true)
	start(t, h, task)
	res := waitExit(t, h, task.ID, time.Minute)
	must.Eq(t, 2, res.ExitCode)
	logEventually(t, task, "stdout", "to-stderr")
	must.StrContains(t, readLog(t, task, "stdout"), "on-a-terminal")
}

// TestDriver_OptionTooNewForTheCLI: an option the installed CLI does not
// have yet is refused with the option and the version that adds it.
func TestDriver_OptionTooNewForTheCLI(t *testing.T) {
	e := newTestEnv(t, "CONTAINER_SIM_VERSION=0.11.0")
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "caps", TaskConfig{Command: "true", CapAdd: []string{"NET_ADMIN"}})
	mkAllocDir(t, h, task, false)
	_, _, err := h.StartTask(task)
	must.ErrorContains(t, err, `"cap_add/cap_drop"`)
	must.ErrorContains(t, err, "0.12.0")
}

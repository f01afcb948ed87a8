package nomade2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/tartanhq/tartan/internal/testenv"
)

// agent is one Nomad agent process with the tart and container drivers in
// its plugin dir.
type agent struct {
	t       testing.TB
	dir     string // everything of this agent: config, plugins, tart home, slots, log
	cfgPath string
	dataDir string // "" = -dev
	http    int
	cmd     *exec.Cmd
	logPath string
	client  *api.Client

	tartHome string
	plugin   string
	tartSim  string

	// The Apple container driver and its simulator (container_*_test.go).
	containerPlugin string
	containerSim    string
	containerRoot   string // CONTAINER_APP_ROOT of the agent (and so its plugin)
}

// binaries are built once per test process.
type binaries struct {
	nomad, plugin, tartSim        string
	containerPlugin, containerSim string
}

func buildBinaries(t testing.TB) binaries {
	t.Helper()
	nomad := os.Getenv("NOMAD_BINARY")
	if nomad == "" || !isExecutable(nomad) {
		// Never skip: build the agent from the module (slow, ~minutes).
		dir, err := os.MkdirTemp("", "tartan-nomad-")
		if err != nil {
			t.Fatal(err)
		}
		nomadBuildDir = dir
		nomad = filepath.Join(dir, "nomad")
		t.Logf("NOMAD_BINARY not set: building Nomad from the module into %s", nomad)
		cmd := exec.Command("go", "build", "-o", nomad, "github.com/hashicorp/nomad")
		cmd.Dir = testenv.ModuleRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building nomad: %v\n%s", err, out)
		}
	}
	return binaries{nomad: nomad, plugin: testenv.Binary(t, "nomad-driver-tart"), tartSim: testenv.TartSim(t),
		containerPlugin: testenv.Binary(t, "nomad-driver-container"), containerSim: testenv.Binary(t, "container-sim")}
}

var nomadBuildDir string

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// newAgent writes the config of an agent. dev = `nomad agent -dev`;
// otherwise a server+client with a data_dir, so client state survives a
// restart.
func newAgent(t testing.TB, bins binaries, dev bool) *agent {
	t.Helper()
	dir, err := os.MkdirTemp("", "tartan-e2e-agent-")
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{t: t, dir: dir, tartSim: bins.tartSim, tartHome: filepath.Join(dir, "tart-home"), logPath: filepath.Join(dir, "agent.log")}
	plugDir := filepath.Join(dir, "plugins")
	must(t, os.MkdirAll(plugDir, 0o755))
	a.plugin = filepath.Join(plugDir, "nomad-driver-tart")
	must(t, copyFile(bins.plugin, a.plugin))
	a.setupContainer(bins, plugDir)
	ports := freePorts(t, 3)
	a.http = ports[0]
	var server string
	if !dev {
		a.dataDir = filepath.Join(dir, "data")
		server = `
data_dir  = "` + a.dataDir + `"
bind_addr = "127.0.0.1"
server {
  enabled          = true
  bootstrap_expect = 1
}
advertise {
  http = "127.0.0.1"
  rpc  = "127.0.0.1"
  serf = "127.0.0.1"
}
`
	}
	cfg := fmt.Sprintf(`
%s
ports {
  http = %d
  rpc  = %d
  serf = %d
}
plugin_dir = %q
client {
  enabled = true
  options = {
    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean"
    "driver.allowlist"     = "tart,container"
  }
}
plugin "nomad-driver-tart" {
  config {
    tart_binary = %q
    tart_home   = %q
    slots_dir   = %q
    gc_grace    = "5s"
  }
}
%s
`, server, ports[0], ports[1], ports[2], plugDir, bins.tartSim, a.tartHome, filepath.Join(dir, "slots"), a.containerPluginBlock())
	a.cfgPath = filepath.Join(dir, "agent.hcl")
	must(t, os.WriteFile(a.cfgPath, []byte(cfg), 0o644))
	c, err := api.NewClient(&api.Config{Address: fmt.Sprintf("http://127.0.0.1:%d", a.http)})
	must(t, err)
	a.client = c
	return a
}

func (a *agent) addr() string { return fmt.Sprintf("http://127.0.0.1:%d", a.http) }

// start launches the agent and waits until the tart driver is healthy.
func (a *agent) start(nomadBin string) {
	a.t.Helper()
	args := []string{"agent", "-config=" + a.cfgPath}
	if a.dataDir == "" {
		args = append(args, "-dev")
	}
	logf, err := os.OpenFile(a.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	must(a.t, err)
	defer logf.Close()
	a.cmd = exec.Command(nomadBin, args...)
	a.cmd.Env = append(os.Environ(), a.containerEnv()...)
	a.cmd.Stdout, a.cmd.Stderr = logf, logf
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	must(a.t, a.cmd.Start())
	a.waitHealthy(90 * time.Second)
}

func (a *agent) waitHealthy(timeout time.Duration) {
	a.t.Helper()
	var last string
	ok := poll(timeout, func() bool {
		nodes, _, err := a.client.Nodes().List(nil)
		if err != nil || len(nodes) == 0 {
			last = fmt.Sprintf("nodes: %v", err)
			return false
		}
		n, _, err := a.client.Nodes().Info(nodes[0].ID, nil)
		if err != nil {
			last = err.Error()
			return false
		}
		for _, name := range []string{"tart", "container"} {
			d := n.Drivers[name]
			if d == nil || !d.Healthy || n.Status != "ready" {
				last = fmt.Sprintf("node %s, driver %s %+v", n.Status, name, d)
				return false
			}
		}
		return true
	})
	if !ok {
		a.t.Fatalf("agent not ready with healthy tart and container drivers after %s (%s)\n%s", timeout, last, a.logTail(60))
	}
}

// stop interrupts the agent and waits for it (bounded), killing it if needed.
func (a *agent) stop() {
	if a.cmd == nil || a.cmd.Process == nil {
		return
	}
	_ = a.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = a.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	a.cmd = nil
}

// destroy stops the agent and removes everything it left: VMs (with
// tart-sim directly), supervisors and the agent directory. It returns what
// it had to clean up: each is a leak the caller reports.
func (a *agent) destroy(keep bool) []string {
	a.stop()
	var leaks []string
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, _ := a.tart(ctx, "list", "--source", "local", "-q")
	for _, vm := range strings.Fields(out) {
		leaks = append(leaks, "VM "+vm)
		_, _ = a.tart(ctx, "stop", vm)
		_, _ = a.tart(ctx, "delete", vm)
	}
	for _, plugin := range []string{a.plugin, a.containerPlugin} {
		for _, pid := range supervisorsOf(plugin) {
			leaks = append(leaks, fmt.Sprintf("task supervisor pid %d", pid))
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		for _, pid := range processesOf(plugin, false) {
			leaks = append(leaks, fmt.Sprintf("plugin pid %d", pid))
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	leaks = append(leaks, a.destroyContainers(ctx)...)
	if keep || len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "agent dir kept for inspection: %s\n%s\n", a.dir, a.logTail(80))
	} else {
		unmountUnder(a.dir)
		_ = os.RemoveAll(a.dir)
	}
	return leaks
}

func (a *agent) tart(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, a.tartSim, args...)
	cmd.Env = append(os.Environ(), "TART_HOME="+a.tartHome)
	out, err := cmd.Output()
	return string(out), err
}

func (a *agent) logTail(n int) string {
	b, _ := os.ReadFile(a.logPath)
	lines := strings.Split(string(b), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// runJob parses and registers HCL through the HTTP API.
func (a *agent) runJob(hcl string) *api.Job {
	a.t.Helper()
	job, err := a.client.Jobs().ParseHCL(hcl, true)
	must(a.t, err)
	_, _, err = a.client.Jobs().Register(job, nil)
	must(a.t, err)
	return job
}

// waitAlloc waits for the job's allocation to reach one of the states.
func (a *agent) waitAlloc(jobID string, timeout time.Duration, states ...string) *api.Allocation {
	a.t.Helper()
	var alloc *api.Allocation
	var last string
	ok := poll(timeout, func() bool {
		stubs, _, err := a.client.Jobs().Allocations(jobID, false, nil)
		if err != nil || len(stubs) == 0 {
			last = fmt.Sprint(err)
			return false
		}
		al, _, err := a.client.Allocations().Info(stubs[0].ID, nil)
		if err != nil {
			return false
		}
		alloc = al
		last = al.ClientStatus + " " + describeEvents(al)
		for _, s := range states {
			if al.ClientStatus == s {
				return true
			}
		}
		return false
	})
	if !ok {
		a.t.Fatalf("job %s: no allocation in %v after %s (last: %s)\n%s", jobID, states, timeout, last, a.logTail(60))
	}
	return alloc
}

func describeEvents(al *api.Allocation) string {
	var b strings.Builder
	for task, st := range al.TaskStates {
		fmt.Fprintf(&b, "[%s %s:", task, st.State)
		for _, e := range st.Events {
			fmt.Fprintf(&b, " %s(%s)", e.Type, e.DisplayMessage)
		}
		b.WriteString("]")
	}
	return b.String()
}

// logs reads a task's stdout or stderr through the HTTP API.
func (a *agent) logs(allocID, task, stream string) string {
	q := url.Values{"task": {task}, "type": {stream}, "plain": {"true"}, "origin": {"start"}}
	resp, err := http.Get(a.addr() + "/v1/client/fs/logs/" + allocID + "?" + q.Encode())
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return ""
	}
	return string(b)
}

func (a *agent) waitLog(allocID, task, stream, want string, timeout time.Duration) string {
	a.t.Helper()
	var got string
	if !poll(timeout, func() bool { got = a.logs(allocID, task, stream); return strings.Contains(got, want) }) {
		a.t.Fatalf("%s of %s never contained %q; got:\n%s", stream, task, want, got)
	}
	return got
}

// waitAgentLog waits for the agent log (which carries the plugin's log) to
// mention want.
func (a *agent) waitAgentLog(want string, timeout time.Duration) {
	a.t.Helper()
	if !poll(timeout, func() bool {
		b, _ := os.ReadFile(a.logPath)
		return strings.Contains(string(b), want)
	}) {
		a.t.Fatalf("agent log never mentioned %q\n%s", want, a.logTail(40))
	}
}

// nomadCLI runs the nomad binary against this agent.
func (a *agent) nomadCLI(nomadBin string, timeout time.Duration, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, nomadBin, args...)
	cmd.Env = append(os.Environ(), "NOMAD_ADDR="+a.addr())
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	return so.String(), se.String(), err
}

// pluginPIDs lists running plugin processes (not supervisors) of this agent.
func (a *agent) pluginPIDs() []int { return processesOf(a.plugin, false) }

func supervisorsOf(plugin string) []int { return processesOf(plugin, true) }

func processesOf(exe string, supervisors bool) []int {
	if exe == "" {
		return nil // kernel threads have an empty command line: they would all match
	}
	var pids []int
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0})
		if len(args) == 0 || string(args[0]) != exe {
			continue
		}
		isSup := len(args) > 1 && strings.HasSuffix(string(args[1]), "-supervisor")
		if isSup != supervisors {
			continue
		}
		var pid int
		fmt.Sscanf(filepath.Base(filepath.Dir(p)), "%d", &pid)
		pids = append(pids, pid)
	}
	return pids
}

func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

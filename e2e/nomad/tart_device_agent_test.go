package nomade2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/tartanhq/tartan/internal/testenv"
	"github.com/tartanhq/tartan/nomad/tartdevice"
)

// deviceAgent is an agent whose client runs the Tart driver installed under
// the file name "tart" (so a seed-000 config `plugin "tart" { ... }` loads
// it) and, optionally, the nomad-device-tart device plugin on the same
// slots directory.
type deviceAgent struct {
	*agent
	slotsDir string
	device   string // the device plugin's path in plugin_dir ("" = none)
	env      []string
	nomad    string
	rpc      int
	name     string // the client's node name
}

// newDeviceAgent writes the config. dev = `nomad agent -dev`; otherwise a
// server+client with a data_dir (client state survives a restart).
func newDeviceAgent(t *testing.T, dev, withDevice bool, env ...string) *deviceAgent {
	t.Helper()
	return newDeviceAgentWith(t, agentOpts{dev: dev, device: withDevice, env: env, name: "client-a"})
}

// agentOpts shape a deviceAgent. With server set, the agent is a client
// only, joining that agent's server (a second client on the same machine).
type agentOpts struct {
	dev, device bool
	env         []string
	name        string
	server      *deviceAgent
}

func newDeviceAgentWith(t *testing.T, o agentOpts) *deviceAgent {
	t.Helper()
	dev, withDevice, env := o.dev, o.device, o.env
	b := bins(t)
	dir, err := os.MkdirTemp("", "tartan-e2e-device-")
	must(t, err)
	a := &agent{t: t, dir: dir, tartSim: b.tartSim, tartHome: filepath.Join(dir, "tart-home"), logPath: filepath.Join(dir, "agent.log")}
	da := &deviceAgent{agent: a, slotsDir: filepath.Join(dir, "slots"), env: env, nomad: b.nomad, name: o.name}
	plugDir := filepath.Join(dir, "plugins")
	must(t, os.MkdirAll(plugDir, 0o755))
	// The block label is the binary's file name: installed as "tart", the
	// driver keeps configs written for the earlier driver working.
	a.plugin = filepath.Join(plugDir, "tart")
	must(t, copyFile(b.plugin, a.plugin))
	var deviceBlock string
	if withDevice {
		da.device = filepath.Join(plugDir, tartdevice.PluginName)
		must(t, copyFile(testenv.Binary(t, tartdevice.PluginName), da.device))
		deviceBlock = fmt.Sprintf(`
plugin %q {
  config {
    slots_dir     = %q
    poll_interval = "200ms"
    tart_binary   = %q
    tart_home     = %q
  }
}`, tartdevice.PluginName, da.slotsDir, b.tartSim, a.tartHome)
	}
	ports := freePorts(t, 3)
	a.http, da.rpc = ports[0], ports[1]
	var server string
	switch {
	case o.server != nil:
		a.dataDir = filepath.Join(dir, "data")
		server = fmt.Sprintf(`
data_dir  = %q
bind_addr = "127.0.0.1"
advertise {
  http = "127.0.0.1"
  rpc  = "127.0.0.1"
  serf = "127.0.0.1"
}
telemetry {
  publish_allocation_metrics = true
}`, a.dataDir)
	case !dev:
		a.dataDir = filepath.Join(dir, "data")
		server = fmt.Sprintf(`
data_dir  = %q
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
# Without it a non-dev client collects no task stats at all.
telemetry {
  publish_allocation_metrics = true
}`, a.dataDir)
	}
	cfg := fmt.Sprintf(`
%s
ports {
  http = %d
  rpc  = %d
  serf = %d
}
plugin_dir = %q
name = %q
client {
  enabled = true%s
  options = {
    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean"
    "driver.allowlist"     = "tart"
  }
}
plugin "tart" {
  config {
    tart_binary = %q
    tart_home   = %q
    slots_dir   = %q
    gc_grace    = "5s"
  }
}
%s
`, server, ports[0], ports[1], ports[2], plugDir, o.name, joinServer(o.server), b.tartSim, a.tartHome, da.slotsDir, deviceBlock)
	a.cfgPath = filepath.Join(dir, "agent.hcl")
	must(t, os.WriteFile(a.cfgPath, []byte(cfg), 0o644))
	c, err := api.NewClient(&api.Config{Address: fmt.Sprintf("http://127.0.0.1:%d", a.http)})
	must(t, err)
	a.client = c
	t.Cleanup(func() {
		if leaks := da.destroy(t.Failed()); len(leaks) > 0 {
			t.Errorf("leaked: %v", leaks)
		}
	})
	return da
}

// destroy stops the agent and removes what it left (VMs, supervisors,
// plugins, the agent dir); each thing it had to remove is a leak.
func (da *deviceAgent) destroy(keep bool) []string {
	a := da.agent
	// The client stops a finished task's logmon itself, shortly after the
	// task ended: give it that time while the agent still runs.
	poll(15*time.Second, func() bool { return len(logmonsUnder(da.nomad, a.dir)) == 0 })
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
	for _, exe := range []string{a.plugin, da.device} {
		if exe == "" {
			continue // processesOf("") would match kernel threads
		}
		for _, supervisors := range []bool{true, false} {
			for _, pid := range processesOf(exe, supervisors) {
				leaks = append(leaks, fmt.Sprintf("%s pid %d (supervisor %v)", filepath.Base(exe), pid, supervisors))
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	// Nomad's logmon outlives a stopped agent on purpose (to keep
	// recovered tasks' logs); with every task gone none may be left.
	for _, pid := range logmonsUnder(da.nomad, a.dir) {
		leaks = append(leaks, fmt.Sprintf("logmon pid %d", pid))
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if keep || len(leaks) > 0 {
		if dst := os.Getenv("TARTAN_E2E_KEEP_LOG"); dst != "" {
			_ = copyFile(a.logPath, dst)
		}
		fmt.Fprintf(os.Stderr, "agent dir kept for inspection: %s\n%s\n", a.dir, a.logTail(80))
	} else {
		unmountUnder(a.dir)
		_ = os.RemoveAll(a.dir)
	}
	return leaks
}

// waitTartHealthy waits for a ready node with a healthy tart driver (this
// agent has no container driver).
func (da *deviceAgent) waitTartHealthy(timeout time.Duration) {
	a := da.agent
	a.t.Helper()
	var last string
	if !poll(timeout, func() bool {
		nodes, _, err := a.client.Nodes().List(nil)
		if err != nil || len(nodes) == 0 {
			last = fmt.Sprintf("nodes: %v", err)
			return false
		}
		n, err := da.node(nodes)
		if err != nil {
			last = err.Error()
			return false
		}
		d := n.Drivers["tart"]
		last = fmt.Sprintf("node %s, driver %+v", n.Status, d)
		return d != nil && d.Healthy && n.Status == "ready"
	}) {
		a.t.Fatalf("agent not ready with a healthy tart driver after %s (%s)\n%s", timeout, last, a.logTail(60))
	}
}

// start launches the agent with the extra environment and waits until
// the driver (and the device plugin's slots) are reported healthy.
func (da *deviceAgent) start() {
	a := da.agent
	a.t.Helper()
	args := []string{"agent", "-config=" + a.cfgPath}
	if a.dataDir == "" {
		args = append(args, "-dev")
	}
	logf, err := os.OpenFile(a.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	must(a.t, err)
	defer logf.Close()
	a.cmd = exec.Command(da.nomad, args...)
	a.cmd.Env = append(os.Environ(), da.env...)
	a.cmd.Stdout, a.cmd.Stderr = logf, logf
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	must(a.t, a.cmd.Start())
	da.waitTartHealthy(90 * time.Second)
	if da.device != "" {
		da.waitSlots(60*time.Second, 2)
	}
}

// slotHealth returns the node's macos-slot instances: ID -> healthy.
func (da *deviceAgent) slotHealth() map[string]bool {
	nodes, _, err := da.client.Nodes().List(nil)
	if err != nil || len(nodes) == 0 {
		return nil
	}
	n, err := da.node(nodes)
	if err != nil || n.NodeResources == nil {
		return nil
	}
	out := map[string]bool{}
	for _, d := range n.NodeResources.Devices {
		if d.Vendor == tartdevice.Vendor && d.Type == tartdevice.DeviceType && d.Name == tartdevice.DeviceName {
			for _, i := range d.Instances {
				out[i.ID] = i.Healthy
			}
		}
	}
	return out
}

// waitSlots waits until the node shows wantHealthy healthy slots.
func (da *deviceAgent) waitSlots(timeout time.Duration, wantHealthy int) {
	da.t.Helper()
	var last map[string]bool
	if !poll(timeout, func() bool {
		last = da.slotHealth()
		n := 0
		for _, ok := range last {
			if ok {
				n++
			}
		}
		return len(last) > 0 && n == wantHealthy
	}) {
		da.t.Fatalf("node never showed %d healthy macos-slot instances (last %v)\n%s", wantHealthy, last, da.logTail(40))
	}
}

// macJob is a macOS VM-only service job; with device it requests a slot.
// Any failure fails the allocation for good (no restart, no reschedule), so
// a failed allocation cannot hide behind a retry.
func macJob(id string, device bool) string {
	var dev string
	if device {
		dev = "\n        " + tartdevice.DeviceBlock
	}
	return fmt.Sprintf(`
job %q {
  datacenters = ["dc1"]
  group "g" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }
    task "vm" {
      driver       = "tart"
      kill_timeout = "5s"
      config {
        image = "ghcr.io/cirruslabs/macos-sequoia-base:latest"
      }
      resources {
        cpu    = 100
        memory = 128%s
      }
    }
  }
}`, id, dev)
}

// allocsOf lists a job's allocations by client status.
func allocsOf(t *testing.T, a *agent, jobID string) map[string]int {
	t.Helper()
	stubs, _, err := a.client.Jobs().Allocations(jobID, true, nil)
	must(t, err)
	out := map[string]int{}
	for _, s := range stubs {
		out[s.ClientStatus]++
	}
	return out
}

// blockedEval reports whether the job has a blocked evaluation.
func blockedEval(t *testing.T, a *agent, jobID string) bool {
	t.Helper()
	evals, _, err := a.client.Jobs().Evaluations(jobID, nil)
	must(t, err)
	for _, e := range evals {
		if e.Status == api.EvalStatusBlocked {
			return true
		}
	}
	return false
}

// purgeJob deregisters and purges a job and waits until its VMs are gone.
func purgeJob(t *testing.T, a *agent, jobID string) {
	t.Helper()
	_, _, err := a.client.Jobs().Deregister(jobID, true, nil)
	must(t, err)
}

func waitNoVMs(t *testing.T, a *agent) {
	t.Helper()
	if !poll(60*time.Second, func() bool { return len(vmsOf(t, a, false)) == 0 }) {
		t.Fatalf("VMs not deleted: %v", vmsOf(t, a, false))
	}
}

func taskEvents(al *api.Allocation, task string) string {
	st := al.TaskStates[task]
	if st == nil {
		return ""
	}
	var b strings.Builder
	for _, e := range st.Events {
		fmt.Fprintf(&b, "%s: %s | ", e.Type, e.DisplayMessage)
	}
	return b.String()
}

// node is this agent's client node among the cluster's.
func (da *deviceAgent) node(nodes []*api.NodeListStub) (*api.Node, error) {
	for _, stub := range nodes {
		if stub.Name == da.name {
			n, _, err := da.client.Nodes().Info(stub.ID, nil)
			return n, err
		}
	}
	return nil, fmt.Errorf("no node named %q yet", da.name)
}

// joinServer is the client block line that joins another agent's server.
func joinServer(server *deviceAgent) string {
	if server == nil {
		return ""
	}
	return fmt.Sprintf("\n  servers = [\"127.0.0.1:%d\"]", server.rpc)
}

// logmonsUnder lists `nomad logmon` processes with a file open under dir.
func logmonsUnder(nomad, dir string) []int {
	var pids []int
	for _, pid := range processesOf(nomad, false) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !strings.Contains(string(b), "\x00logmon") {
			continue
		}
		fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
		for _, fd := range fds {
			if target, err := os.Readlink(fd); err == nil && strings.HasPrefix(target, dir+"/") {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

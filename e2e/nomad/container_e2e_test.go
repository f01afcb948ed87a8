package nomade2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/tartanhq/tartan/internal/sim/ociimages"
)

// containerTicker prints numbered lines, answers USR1, exits 9 on USR2 and
// 0 on the kill_signal (TERM). No ${...}: HCL would interpolate it.
const containerTicker = `echo started-on-stderr >&2
trap 'echo got-usr1' USR1
trap 'echo usr2-exit; exit 9' USR2
trap 'echo stopping; exit 0' TERM
i=0
while true; do echo "tick $i"; i=$((i+1)); sleep 0.2; done`

// containerJob is a one-task job on the container driver; extra goes into
// the task's config block, group into the group.
func containerJob(id, jobType, script, extra, group string) string {
	return fmt.Sprintf(`
job %q {
  datacenters = ["dc1"]
  type        = %q
  group "g" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }
%s
    task "t" {
      driver       = "container"
      kill_signal  = "SIGTERM"
      kill_timeout = "10s"
      config {
        image   = %q
        command = "sh"
        args    = ["-c", %q]
%s
      }
      resources {
        cpu    = 100
        memory = 256
      }
    }
  }
}`, id, jobType, group, containerImage, script, extra)
}

// containersOfJob are the job's containers (by the driver's extra labels).
func containersOfJob(t *testing.T, a *agent, job string) []containerInfo {
	t.Helper()
	var out []containerInfo
	for _, c := range a.containers(t) {
		if c.Labels["com.hashicorp.nomad.job_name"] == job {
			out = append(out, c)
		}
	}
	return out
}

func waitNoContainers(t *testing.T, a *agent, job string) {
	t.Helper()
	if !poll(30*time.Second, func() bool { return len(containersOfJob(t, a, job)) == 0 }) {
		t.Fatalf("containers of %s not deleted: %+v", job, containersOfJob(t, a, job))
	}
}

func terminatedExitCode(al *api.Allocation, task string) int {
	code := -1
	for _, e := range al.TaskStates[task].Events {
		if e.Type == api.TaskTerminated {
			code = e.ExitCode
		}
	}
	return code
}

// TestContainerE2E_BatchExitCode: a batch container exiting 3 fails the
// allocation with exit code 3 (the earlier driver reported 0).
func TestContainerE2E_BatchExitCode(t *testing.T) {
	a := devAgent(t)
	a.runJob(containerJob("cbatch", "batch", `echo batch-output; echo batch-error >&2; exit 3`, "", ""))
	al := a.waitAlloc("cbatch", 90*time.Second, "failed", "complete")
	if al.ClientStatus != "failed" {
		t.Fatalf("exit 3 should fail the alloc: %s", describeEvents(al))
	}
	if code := terminatedExitCode(al, "t"); code != 3 {
		t.Fatalf("exit code %d, want 3: %s", code, describeEvents(al))
	}
	out := a.waitLog(al.ID, "t", "stdout", "batch-output\n", 10*time.Second)
	errOut := a.waitLog(al.ID, "t", "stderr", "batch-error\n", 10*time.Second)
	if out != "batch-output\n" || errOut != "batch-error\n" {
		t.Fatalf("logs not split or not clean:\nstdout %q\nstderr %q", out, errOut)
	}
	_, _, err := a.client.Jobs().Deregister("cbatch", true, nil)
	must(t, err)
	waitNoContainers(t, a, "cbatch")
}

// TestContainerE2E_ServiceJob: split logs, alloc exec in the container,
// alloc signal, stats, a published port on 127.0.0.1, and stop.
func TestContainerE2E_ServiceJob(t *testing.T) {
	a := devAgent(t)
	b := bins(t)
	script := `mkdir -p /tmp/www && echo served-by-busybox > /tmp/www/index.html && httpd -p 8080 -h /tmp/www
` + containerTicker
	a.runJob(containerJob("csvc", "service", script, `        ports   = ["http"]`, `    network {
      port "http" {
        to = 8080
      }
    }`))
	al := a.waitAlloc("csvc", 90*time.Second, "running")
	a.waitLog(al.ID, "t", "stdout", "tick 2\n", 30*time.Second)
	a.waitLog(al.ID, "t", "stderr", "started-on-stderr\n", 10*time.Second)
	if strings.Contains(a.logs(al.ID, "t", "stdout"), "started-on-stderr") {
		t.Fatal("stderr line in stdout")
	}

	// nomad alloc exec runs in the container, with Nomad's paths.
	so, se, err := a.nomadCLI(b.nomad, 60*time.Second, "alloc", "exec", "-i=false", "-t=false", "-task", "t", al.ID,
		"/bin/sh", "-c", "echo exec-ok; echo $NOMAD_ALLOC_DIR; ls /alloc/logs >/dev/null && echo alloc-mounted; exit 4")
	if !strings.Contains(so, "exec-ok\n/alloc\nalloc-mounted\n") {
		t.Fatalf("exec output %q (stderr %q, err %v)", so, se, err)
	}
	if ee, ok := err.(interface{ ExitCode() int }); !ok || ee.ExitCode() != 4 {
		t.Fatalf("alloc exec exit: %v, want code 4", err)
	}

	must(t, a.client.Allocations().Signal(al, nil, "t", "SIGUSR1"))
	a.waitLog(al.ID, "t", "stdout", "got-usr1\n", 20*time.Second)

	// The group port, published by the driver, answers on the host.
	port := 0
	for _, p := range al.AllocatedResources.Shared.Ports {
		if p.Label == "http" {
			port = p.Value
		}
	}
	if port == 0 {
		t.Fatalf("no http port allocated: %+v", al.AllocatedResources.Shared)
	}
	var body string
	if !poll(30*time.Second, func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		bb, _ := io.ReadAll(resp.Body)
		body = string(bb)
		return resp.StatusCode == 200
	}) || body != "served-by-busybox\n" {
		t.Fatalf("published port %d: body %q", port, body)
	}

	if !poll(30*time.Second, func() bool {
		st, err := a.client.Allocations().Stats(al, nil)
		return err == nil && st.ResourceUsage != nil && st.ResourceUsage.MemoryStats.RSS > 0
	}) {
		t.Fatal("no memory stats for the container")
	}

	final := stopJob(t, a, "csvc")
	a.waitLog(al.ID, "t", "stdout", "stopping\n", 20*time.Second)
	assertTicksOnce(t, a.logs(al.ID, "t", "stdout"))
	if code := terminatedExitCode(final, "t"); code != 0 {
		t.Fatalf("clean stop should exit 0, got %d: %s", code, describeEvents(final))
	}
	waitNoContainers(t, a, "csvc")
}

// TestContainerE2E_SharedAllocDir: two tasks of a group share /alloc.
func TestContainerE2E_SharedAllocDir(t *testing.T) {
	a := devAgent(t)
	a.runJob(`
job "cshare" {
  datacenters = ["dc1"]
  type        = "batch"
  group "g" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    task "writer" {
      driver = "container"
      config {
        image   = "busybox"
        command = "sh"
        args    = ["-c", "echo from-writer > /alloc/shared.txt"]
      }
      lifecycle {
        hook = "prestart"
      }
    }
    task "reader" {
      driver = "container"
      config {
        image   = "busybox"
        command = "cat"
        args    = ["/alloc/shared.txt"]
      }
    }
  }
}`)
	al := a.waitAlloc("cshare", 90*time.Second, "complete", "failed")
	if al.ClientStatus != "complete" {
		t.Fatalf("alloc %s: %s", al.ClientStatus, describeEvents(al))
	}
	a.waitLog(al.ID, "reader", "stdout", "from-writer\n", 10*time.Second)
	_, _, err := a.client.Jobs().Deregister("cshare", true, nil)
	must(t, err)
	waitNoContainers(t, a, "cshare")
}

// TestContainerE2E_BadImageAndCredentials: a missing image and refused
// credentials fail the task with a driver message saying so.
func TestContainerE2E_BadImageAndCredentials(t *testing.T) {
	a := devAgent(t)
	reg, err := ociimages.StartRegistry(ociimages.RegistryOptions{Users: map[string]string{"puller": "s3cret"}, Private: []string{"private"}})
	must(t, err)
	defer reg.Close()
	img, err := ociimages.Busybox(ociimages.BusyboxOptions{})
	must(t, err)
	must(t, reg.Push("private/app:1", img))
	for _, c := range []struct {
		job, image, auth, want string
	}{
		{"cnoimage", reg.Ref("public/missing:1"), "", "no such image"},
		{"cbadcreds", reg.Ref("private/app:1"), `        auth {
          username = "puller"
          password = "wrong-password"
        }`, "refused access"},
	} {
		hcl := strings.Replace(containerJob(c.job, "batch", "true", c.auth, ""), fmt.Sprintf("%q", containerImage), fmt.Sprintf("%q", c.image), 1)
		a.runJob(hcl)
		al := a.waitAlloc(c.job, 90*time.Second, "failed")
		ev := describeEvents(al)
		if !strings.Contains(ev, c.want) || strings.Contains(ev, "wrong-password") {
			t.Fatalf("%s: events do not say %q (or show the password): %s", c.job, c.want, ev)
		}
		_, _, err := a.client.Jobs().Deregister(c.job, true, nil)
		must(t, err)
		waitNoContainers(t, a, c.job)
	}
}

// TestContainerE2E_PluginCrashReattaches kills the container plugin with
// SIGKILL mid-task: Nomad starts a new one, which recovers the task; the
// container keeps running, no line is lost or repeated, and its exit code
// is still known.
func TestContainerE2E_PluginCrashReattaches(t *testing.T) {
	a := devAgent(t)
	a.runJob(containerJob("ccrash", "service", containerTicker, "", ""))
	al := a.waitAlloc("ccrash", 90*time.Second, "running")
	a.waitLog(al.ID, "t", "stdout", "tick 2\n", 30*time.Second)
	before := containersOfJob(t, a, "ccrash")
	old := processesOf(a.containerPlugin, false)
	if len(before) != 1 || len(old) == 0 {
		t.Fatalf("want one container and a plugin: %+v %v", before, old)
	}
	for _, pid := range old {
		must(t, syscall.Kill(pid, syscall.SIGKILL))
	}
	if !poll(60*time.Second, func() bool {
		now := processesOf(a.containerPlugin, false)
		return len(now) > 0 && now[0] != old[0]
	}) {
		t.Fatalf("container plugin not relaunched\n%s", a.logTail(40))
	}
	n := assertTicksOnce(t, a.logs(al.ID, "t", "stdout"))
	a.waitLog(al.ID, "t", "stdout", fmt.Sprintf("tick %d\n", n+5), 30*time.Second)
	a.waitAgentLog("recovered task", 30*time.Second)
	cur, _, err := a.client.Allocations().Info(al.ID, nil)
	must(t, err)
	noRestarts(t, cur)
	if now := containersOfJob(t, a, "ccrash"); len(now) != 1 || now[0].ID != before[0].ID || now[0].State != "running" {
		t.Fatalf("container changed across the plugin crash: %+v -> %+v", before, now)
	}
	// The recovered plugin still controls the task, and its exit code.
	must(t, a.client.Allocations().Signal(cur, nil, "t", "SIGUSR2"))
	final := a.waitAlloc("ccrash", 60*time.Second, "failed")
	if code := terminatedExitCode(final, "t"); code != 9 {
		t.Fatalf("exit code %d, want 9: %s", code, describeEvents(final))
	}
	assertTicksOnce(t, a.logs(al.ID, "t", "stdout"))
	_, _, err = a.client.Jobs().Deregister("ccrash", true, nil)
	must(t, err)
	waitNoContainers(t, a, "ccrash")
}

// TestContainerE2E_ClientRestartRecovers restarts a non-dev agent: the
// container runs through the restart under its supervisor, is reattached,
// and its exit code afterwards is the real one.
func TestContainerE2E_ClientRestartRecovers(t *testing.T) {
	b := bins(t)
	a := newAgent(t, b, false)
	t.Cleanup(func() {
		if leaks := a.destroy(t.Failed()); len(leaks) > 0 {
			t.Errorf("leaked: %v", leaks)
		}
	})
	a.start(b.nomad)
	a.runJob(containerJob("crestart", "service", containerTicker, "", ""))
	al := a.waitAlloc("crestart", 120*time.Second, "running")
	a.waitLog(al.ID, "t", "stdout", "tick 2\n", 30*time.Second)
	before := containersOfJob(t, a, "crestart")

	a.stop()
	if now := containersOfJob(t, a, "crestart"); len(now) != 1 || now[0].State != "running" {
		t.Fatalf("container did not survive the agent stop: %+v", now)
	}
	if len(supervisorsOf(a.containerPlugin)) != 1 {
		t.Fatal("the task's supervisor did not survive the agent stop")
	}
	a.start(b.nomad)
	cur := a.waitAlloc("crestart", 60*time.Second, "running")
	if cur.ID != al.ID {
		t.Fatalf("a new allocation replaced the old one: %s -> %s", al.ID, cur.ID)
	}
	n := assertTicksOnce(t, a.waitLog(al.ID, "t", "stdout", "tick", 30*time.Second))
	a.waitLog(al.ID, "t", "stdout", fmt.Sprintf("tick %d\n", n+5), 30*time.Second)
	a.waitAgentLog("recovered task", 30*time.Second)
	if now := containersOfJob(t, a, "crestart"); len(now) != 1 || now[0].ID != before[0].ID {
		t.Fatalf("container changed across the restart: %+v -> %+v", before, now)
	}
	must(t, a.client.Allocations().Signal(cur, nil, "t", "SIGUSR2"))
	final := a.waitAlloc("crestart", 60*time.Second, "failed")
	if code := terminatedExitCode(final, "t"); code != 9 {
		t.Fatalf("exit code %d, want 9: %s", code, describeEvents(final))
	}
	assertTicksOnce(t, a.logs(al.ID, "t", "stdout"))
	_, _, err := a.client.Jobs().Deregister("crestart", true, nil)
	must(t, err)
	waitNoContainers(t, a, "crestart")
	if sups := supervisorsOf(a.containerPlugin); len(sups) != 0 {
		t.Fatalf("supervisors left: %v", sups)
	}
}

// netnsLeft lists the simulator's network namespaces still mounted.
func netnsLeft(a *agent) []string {
	entries, _ := os.ReadDir(filepath.Join(a.containerRoot, "netns"))
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// TestContainerE2E_NothingLeaks runs last among the dev-agent container
// tests: no container, supervisor or network namespace of a finished job
// remains.
func TestContainerE2E_NothingLeaks(t *testing.T) {
	a := devAgent(t)
	a.runJob(containerJob("cleak", "batch", "echo done", "", ""))
	a.waitAlloc("cleak", 90*time.Second, "complete")
	_, _, err := a.client.Jobs().Deregister("cleak", true, nil)
	must(t, err)
	if !poll(30*time.Second, func() bool {
		return len(a.containers(t)) == 0 && len(supervisorsOf(a.containerPlugin)) == 0 && len(netnsLeft(a)) == 0
	}) {
		t.Fatalf("left behind: containers %+v, supervisors %v, netns %v", a.containers(t), supervisorsOf(a.containerPlugin), netnsLeft(a))
	}
}

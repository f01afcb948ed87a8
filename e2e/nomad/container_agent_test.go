package nomade2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The Apple container driver in every agent: its plugin binary next to the
// tart one, container-sim as its CLI with an app root inside the agent dir,
// the apiserver started and busybox seeded before the agent starts.

const containerImage = "docker.io/library/busybox:latest"

func (a *agent) setupContainer(bins binaries, plugDir string) {
	a.t.Helper()
	a.containerSim = bins.containerSim
	a.containerRoot = filepath.Join(a.dir, "container-root")
	must(a.t, os.MkdirAll(a.containerRoot, 0o700))
	a.containerPlugin = filepath.Join(plugDir, "nomad-driver-container")
	must(a.t, copyFile(bins.containerPlugin, a.containerPlugin))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, args := range [][]string{{"system", "start", "--enable-kernel-install"}, {"sim", "seed", containerImage}} {
		if out, err := a.containerCLI(ctx, args...); err != nil {
			a.t.Fatalf("container %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// containerPluginBlock is the agent's plugin block, in the earlier
// driver's option names.
func (a *agent) containerPluginBlock() string {
	return fmt.Sprintf(`plugin "nomad-driver-container" {
  config {
    container_path = %q
    gc {
      container = true
    }
    volumes {
      enabled = true
    }
    extra_labels = ["job_name", "task_group_name", "task_name"]
    gc_grace     = "5s"
  }
}`, a.containerSim)
}

// containerEnv goes to the agent, so its plugin (and the plugin's CLI
// calls) use the agent's own simulator state.
func (a *agent) containerEnv() []string {
	return []string{"CONTAINER_APP_ROOT=" + a.containerRoot}
}

func (a *agent) containerCLI(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, a.containerSim, args...)
	cmd.Env = append(os.Environ(), a.containerEnv()...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// containerInfo is what the tests read of `container list --format json`.
type containerInfo struct {
	ID     string
	State  string
	Labels map[string]string
}

func (a *agent) containers(t testing.TB) []containerInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, a.containerSim, "list", "--all", "--format", "json")
	cmd.Env = append(os.Environ(), a.containerEnv()...)
	out, err := cmd.Output()
	must(t, err)
	var raw []struct {
		ID            string `json:"id"`
		Configuration struct {
			Labels map[string]string `json:"labels"`
		} `json:"configuration"`
		Status struct {
			State string `json:"state"`
		} `json:"status"`
	}
	must(t, json.Unmarshal(out, &raw))
	var cs []containerInfo
	for _, r := range raw {
		cs = append(cs, containerInfo{ID: r.ID, State: r.Status.State, Labels: r.Configuration.Labels})
	}
	return cs
}

// destroyContainers deletes every container left (each is a leak) and
// stops the simulator's apiserver.
func (a *agent) destroyContainers(ctx context.Context) []string {
	if a.containerSim == "" {
		return nil
	}
	var leaks []string
	out, _ := a.containerCLI(ctx, "list", "--all", "--quiet")
	for _, id := range strings.Fields(out) {
		leaks = append(leaks, "container "+id)
		_, _ = a.containerCLI(ctx, "delete", "--force", id)
	}
	_, _ = a.containerCLI(ctx, "system", "stop")
	return leaks
}

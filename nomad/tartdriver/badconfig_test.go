package tartdriver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/shoenig/test/must"
)

// TestBadConfig_ClearErrorsAndEvents: bad job config fails StartTask with a
// message naming the problem, emits it as a task event, and leaves nothing.
func TestBadConfig_ClearErrorsAndEvents(t *testing.T) {
	e := newTestEnv(t)
	pc := e.pluginConfig()
	pc.SSHPassword = ""
	pc.DeniedImages = []string{"ghcr.io/evil/*"}
	h, _ := e.newHarness(pc)
	events, err := h.TaskEvents(context.Background())
	must.NoError(t, err)

	cases := []struct {
		name string
		tc   TaskConfig
		want string
	}{
		{"unknown image", TaskConfig{Image: "ghcr.io/cirruslabs/does-not-exist:1"}, "no such image"},
		{"bad option", TaskConfig{Image: linuxImage, RootDiskOptions: "caching=sometimes"}, `"root_disk_options"`},
		{"denied image", TaskConfig{Image: "ghcr.io/evil/vm:1"}, "denied_images"},
		{"no credentials", TaskConfig{Image: linuxImage, Command: "true", GuestTransport: "ssh"}, "neither ssh_password nor ssh_private_key"},
		{"pull never", TaskConfig{Image: "ghcr.io/cirruslabs/macos-sequoia-base:other", PullPolicy: "never"}, "no such image"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			task := newTask(t, "bad", c.tc)
			mkAllocDirNoLogs(t, h, task)
			_, _, err := h.StartTask(task)
			must.ErrorContains(t, err, c.want)
			must.False(t, structs.IsRecoverable(err))
			must.False(t, e.vmExists(vmName(task.AllocID, task.Name)))
			waitEvent(t, events, task.ID, c.want)
		})
	}
}

func waitEvent(t *testing.T, events <-chan *drivers.TaskEvent, taskID, want string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.TaskID == taskID && strings.Contains(ev.Message, want) {
				return
			}
		case <-timeout:
			t.Fatalf("no task event containing %q", want)
		}
	}
}

func TestBadConfig_VMDyingDuringBootFailsFast(t *testing.T) {
	t.Setenv("TART_SIM_NO_IP", "1")
	t.Setenv("TART_SIM_DIE_AFTER", "300ms")
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "dies", TaskConfig{Image: linuxImage, ReadyTimeout: "2m"})
	mkAllocDirNoLogs(t, h, task)
	began := time.Now()
	res := bootFailure(t, e, h, task, 30*time.Second)
	must.ErrorContains(t, res.Err, "VM stopped while starting")
	must.Less(t, 20*time.Second, time.Since(began))
}

func TestBadConfig_NoIPWithinReadyTimeout(t *testing.T) {
	t.Setenv("TART_SIM_NO_IP", "1")
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "noip", TaskConfig{Image: linuxImage, ReadyTimeout: "2s"})
	mkAllocDirNoLogs(t, h, task)
	res := bootFailure(t, e, h, task, 30*time.Second)
	must.ErrorContains(t, res.Err, "ready_timeout")
}

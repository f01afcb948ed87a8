package containerdriver

import (
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/internal/sim/ociimages"
)

// registry is a loopback registry with a public repository and a private
// one (user "puller", password "s3cret").
func registry(t *testing.T, o ociimages.RegistryOptions) *ociimages.Registry {
	t.Helper()
	if o.Users == nil {
		o.Users = map[string]string{"puller": "s3cret"}
	}
	o.Private = append(o.Private, "private")
	r, err := ociimages.StartRegistry(o)
	must.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	img, err := ociimages.Busybox(ociimages.BusyboxOptions{Files: map[string]string{"/etc/motd": "pulled image\n"}})
	must.NoError(t, err)
	must.NoError(t, r.Push("public/app:1", img))
	must.NoError(t, r.Push("private/app:1", img))
	return r
}

// TestImages_PullPublicOnceAndForcePull: a missing image is pulled (with
// task events), a present one is not, force_pull pulls again.
func TestImages_PullPublicOnceAndForcePull(t *testing.T) {
	e := newTestEnv(t)
	reg := registry(t, ociimages.RegistryOptions{})
	h, _ := e.newHarness(e.pluginConfig())
	ref := reg.Ref("public/app:1")
	run := func(tc TaskConfig) {
		t.Helper()
		tc.Image, tc.Command = ref, "cat"
		tc.Args = []string{"/etc/motd"}
		task := newTask(t, "pull", tc)
		mkAllocDir(t, h, task, true)
		start(t, h, task)
		must.Eq(t, 0, waitExit(t, h, task.ID, time.Minute).ExitCode)
		logEventually(t, task, "stdout", "pulled image\n")
		must.NoError(t, h.DestroyTask(task.ID, true))
	}
	run(TaskConfig{})
	manifests := reg.Requests("public/app").Manifests
	must.Positive(t, manifests)
	run(TaskConfig{})
	must.Eq(t, manifests, reg.Requests("public/app").Manifests) // present: no pull
	run(TaskConfig{ForcePull: true})
	must.Greater(t, manifests, reg.Requests("public/app").Manifests)
}

// TestImages_PrivateWithTaskOrPluginCredentials: credentials from the task
// or, as default, from the plugin; nothing goes to the keychain.
func TestImages_PrivateWithTaskOrPluginCredentials(t *testing.T) {
	e := newTestEnv(t)
	reg := registry(t, ociimages.RegistryOptions{})
	ref := reg.Ref("private/app:1")

	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "taskauth", TaskConfig{Image: ref, Command: "true", Auth: RegistryAuth{Username: "puller", Password: "s3cret"}})
	mkAllocDir(t, h, task, true)
	start(t, h, task)
	must.Eq(t, 0, waitExit(t, h, task.ID, time.Minute).ExitCode)
	must.NoError(t, h.DestroyTask(task.ID, true))
	e.cli("image", "delete", ref)

	pc := e.pluginConfig()
	pc.Auth = RegistryAuth{Username: "puller", Password: "s3cret", ServerAddress: reg.Host}
	h2, _ := e.newHarness(pc)
	task2 := newTask(t, "pluginauth", TaskConfig{Image: ref, Command: "true"})
	mkAllocDir(t, h2, task2, true)
	start(t, h2, task2)
	must.Eq(t, 0, waitExit(t, h2, task2.ID, time.Minute).ExitCode)
	must.NoError(t, h2.DestroyTask(task2.ID, true))
	must.StrNotContains(t, e.cli("registry", "list"), reg.Host)
}

// TestImages_FailuresAreClearAndFinal: a missing image, refused
// credentials and no credentials each fail the start with what to do.
func TestImages_FailuresAreClearAndFinal(t *testing.T) {
	e := newTestEnv(t)
	reg := registry(t, ociimages.RegistryOptions{})
	h, _ := e.newHarness(e.pluginConfig())
	for _, c := range []struct {
		name string
		tc   TaskConfig
		want []string
	}{
		{"missing image", TaskConfig{Image: reg.Ref("public/nope:1")}, []string{"no such image", "public/nope:1"}},
		{"wrong password", TaskConfig{Image: reg.Ref("private/app:1"), Auth: RegistryAuth{Username: "puller", Password: "wrong"}},
			[]string{"refused access", `user "puller"`}},
		{"no credentials", TaskConfig{Image: reg.Ref("private/app:1")}, []string{"refused access", "no credentials were given"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			task := newTask(t, "bad", c.tc)
			mkAllocDir(t, h, task, false)
			_, _, err := h.StartTask(task)
			must.Error(t, err)
			for _, w := range c.want {
				must.ErrorContains(t, err, w)
			}
			must.StrNotContains(t, err.Error(), "wrong") // the password never shows
			rec, ok := err.(interface{ IsRecoverable() bool })
			must.False(t, ok && rec.IsRecoverable(), must.Sprint("a final error"))
		})
	}
}

// TestImages_PullTimeout: image_pull_timeout bounds a slow pull and says
// which option to raise.
func TestImages_PullTimeout(t *testing.T) {
	e := newTestEnv(t)
	reg := registry(t, ociimages.RegistryOptions{Delay: 5 * time.Second})
	h, _ := e.newHarness(e.pluginConfig())
	task := newTask(t, "slow", TaskConfig{Image: reg.Ref("public/app:1"), ImagePullTimeout: "1s"})
	mkAllocDir(t, h, task, false)
	begin := time.Now()
	_, _, err := h.StartTask(task)
	must.ErrorContains(t, err, "image_pull_timeout")
	must.Less(t, 20*time.Second, time.Since(begin))
	must.True(t, strings.Contains(err.Error(), "1s"))
}

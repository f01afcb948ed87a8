package tartdriver

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/shoenig/test/must"
)

// simRun is the part of tart-sim's vms/<name>/sim-run.json (what `tart run`
// received) that these tests look at.
type simRun struct {
	MAC     string `json:"mac"`
	Options struct {
		Argv       []string `json:"argv"`
		NoGraphics bool     `json:"noGraphics"`
		Dirs       []struct {
			Name     string `json:"name"`
			Path     string `json:"path"`
			ReadOnly bool   `json:"readOnly"`
		} `json:"dirs"`
		Disks []struct {
			Path     string `json:"path"`
			ReadOnly bool   `json:"readOnly"`
			Sync     string `json:"sync"`
		} `json:"disks"`
		Net struct {
			Mode          string `json:"mode"`
			SoftnetExpose string `json:"softnetExpose"`
		} `json:"net"`
	} `json:"options"`
}

func (e *testEnv) simRun(t *testing.T, vm string) simRun {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.home, "vms", vm, "sim-run.json"))
	must.NoError(t, err)
	var r simRun
	must.NoError(t, json.Unmarshal(b, &r))
	return r
}

// TestVMConfig_WhatTartReceives: shares, disks, networking with Nomad's
// ports, size and a fresh MAC, as tart saw them.
func TestVMConfig_WhatTartReceives(t *testing.T) {
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())
	cache := t.TempDir()
	disk := filepath.Join(t.TempDir(), "extra.img")
	must.NoError(t, os.WriteFile(disk, make([]byte, 1024), 0o644))
	task := newTask(t, "cfg", TaskConfig{
		Image: linuxImage, CPU: 6, Memory: 6144, DiskSize: 30,
		DirShares:  []DirShare{{Name: "cache", Path: cache, Options: "ro"}},
		DiskMounts: []DiskMount{{Path: disk, Options: "ro,sync=none"}},
		NetSoftnet: true, NetSoftnetExpose: "2222:22",
	})
	task.Resources.Ports = &structs.AllocatedPorts{{Label: "http", Value: 23456, To: 80}, {Label: "raw", Value: 23457}}
	mkAllocDirNoLogs(t, h, task)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// StartTask returns before the guest has an IP: no driver network.
	_, net := start(t, h, task)
	must.Nil(t, net)

	vm := vmName(task.AllocID, task.Name)
	r := e.simRun(t, vm)
	must.True(t, r.Options.NoGraphics)
	shares := map[string]string{}
	for _, d := range r.Options.Dirs {
		shares[d.Name] = d.Path
		if d.Name == "cache" {
			must.True(t, d.ReadOnly)
		}
	}
	td := task.TaskDir()
	must.Eq(t, map[string]string{"alloc": td.SharedAllocDir, "local": td.LocalDir, "secrets": td.SecretsDir, "cache": cache}, shares)
	must.Len(t, 1, r.Options.Disks)
	must.Eq(t, disk, r.Options.Disks[0].Path)
	must.True(t, r.Options.Disks[0].ReadOnly)
	must.Eq(t, "none", r.Options.Disks[0].Sync)
	must.Eq(t, "softnet", r.Options.Net.Mode)
	must.Eq(t, "2222:22,23456:80,23457:23457", r.Options.Net.SoftnetExpose)

	info, err := e.client.Get(ctx, vm)
	must.NoError(t, err)
	must.Eq(t, 6, info.CPU)
	must.Eq(t, 6144, info.Memory)
	must.Eq(t, 30, info.Disk)

	// Two clones of one image never share a MAC (random_mac defaults on).
	other := newTask(t, "cfg2", TaskConfig{Image: linuxImage})
	mkAllocDirNoLogs(t, h, other)
	start(t, h, other)
	must.NotEq(t, r.MAC, e.simRun(t, vmName(other.AllocID, other.Name)).MAC)
}

// TestPull_PrivateImageAndPolicies: per-task credentials reach tart (and
// only through its environment), wrong ones give a clear error, and the
// pull policy decides whether a cached image is pulled again.
func TestPull_PrivateImageAndPolicies(t *testing.T) {
	catalog := filepath.Join(t.TempDir(), "catalog.json")
	must.NoError(t, os.WriteFile(catalog, []byte(`[{"name": "registry.example.com/team/private:1", "os": "linux",
		"credentials": {"username": "ci", "password": "s3cret"}}]`), 0o644))
	t.Setenv("TART_SIM_CATALOG", catalog)
	e := newTestEnv(t)
	h, _ := e.newHarness(e.pluginConfig())

	bad := newTask(t, "bad", TaskConfig{Image: "registry.example.com/team/private:1", Auth: RegistryAuth{Username: "ci", Password: "wrong"}})
	mkAllocDirNoLogs(t, h, bad)
	_, _, err := h.StartTask(bad)
	must.ErrorContains(t, err, "registry refused the credentials")
	must.StrNotContains(t, err.Error(), "wrong")

	good := newTask(t, "good", TaskConfig{Image: "registry.example.com/team/private:1", Auth: RegistryAuth{Username: "ci", Password: "s3cret", Server: "registry.example.com"}})
	mkAllocDirNoLogs(t, h, good)
	start(t, h, good)

	// Cached now: "missing" does not pull again, "always" does.
	events, err := h.TaskEvents(context.Background())
	must.NoError(t, err)
	again := newTask(t, "again", TaskConfig{Image: "registry.example.com/team/private:1", PullPolicy: "always", Auth: RegistryAuth{Username: "ci", Password: "s3cret"}})
	mkAllocDirNoLogs(t, h, again)
	start(t, h, again)
	waitEvent(t, events, again.ID, "Pulled image registry.example.com/team/private:1")
}

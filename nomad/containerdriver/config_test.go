package containerdriver

import (
	"fmt"
	"testing"

	"github.com/hashicorp/nomad/helper/pluginutils/hclspecutils"
	"github.com/hashicorp/nomad/helper/pluginutils/hclutils"
	"github.com/hashicorp/nomad/jobspec2"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/shoenig/test/must"
)

// parseTask reads a task's config block the way Nomad does: the job file
// through jobspec2 (HCL2), then the client's decode against the schema.
func parseTask(t *testing.T, hcl string) TaskConfig {
	t.Helper()
	job := `job "j" {
  group "g" {
    task "t" {
      driver = "container"
      ` + hcl + `
    }
  }
}`
	parsed, err := jobspec2.ParseWithConfig(&jobspec2.ParseConfig{Path: "j.nomad.hcl", Body: []byte(job), Strict: true})
	must.NoError(t, err)
	return decodeTaskConfig(t, parsed.TaskGroups[0].Tasks[0].Config)
}

// decodeTaskConfig is the client's side: interpolate, check, msgpack.
func decodeTaskConfig(t *testing.T, raw map[string]any) TaskConfig {
	t.Helper()
	spec, diags := hclspecutils.Convert(taskConfigSpec)
	must.False(t, diags.HasErrors())
	val, diags, errs := hclutils.ParseHclInterface(raw, spec, nil)
	must.SliceEmpty(t, errs, must.Sprint(errs))
	must.False(t, diags.HasErrors(), must.Sprint(diags))
	dtc := &drivers.TaskConfig{}
	must.NoError(t, dtc.EncodeDriverConfig(val))
	var tc TaskConfig
	must.NoError(t, dtc.DecodeDriverConfig(&tc))
	return tc
}

func parsePlugin(t *testing.T, hcl string) PluginConfig {
	t.Helper()
	var pc PluginConfig
	hclutils.NewConfigParser(pluginConfigSpec).ParseHCL(t, hcl, &pc)
	return pc
}

// TestPluginConfig_SeedBlockParses: the earlier driver's documented plugin
// block, verbatim, decodes into the same meanings.
func TestPluginConfig_SeedBlockParses(t *testing.T) {
	pc := parsePlugin(t, `config {
    container_path = "/usr/local/bin/container"
    gc {
      container = true
    }
    volumes {
      enabled = true
    }
    extra_labels = ["job_name", "task_group_name", "task_name"]
    image_pull_timeout = "5m"
    disable_log_collection = false
    auth {
      username       = "myuser"
      password       = "s3cr3t"
      server_address = "registry.example.com"
    }
}`)
	must.Eq(t, PluginConfig{
		ContainerPath: "/usr/local/bin/container",
		GC:            GCConfig{Container: true}, Volumes: VolumeConfig{Enabled: true},
		ExtraLabels:      []string{"job_name", "task_group_name", "task_name"},
		ImagePullTimeout: "5m",
		Auth:             RegistryAuth{Username: "myuser", Password: "s3cr3t", ServerAddress: "registry.example.com"},
		GCGrace:          defaultGCGrace,
	}, pc)
	must.NoError(t, validatePluginConfig(&pc))
}

// TestPluginConfig_Defaults: an empty block keeps containers collected and
// volumes enabled (the earlier driver's effective behaviour), and false
// really is false.
func TestPluginConfig_Defaults(t *testing.T) {
	pc := parsePlugin(t, `config {}`)
	must.True(t, pc.GC.Container)
	must.True(t, pc.Volumes.Enabled)
	must.Eq(t, defaultImagePullTimeout, pc.ImagePullTimeout)
	must.False(t, pc.DisableLogCollection)
	must.Eq(t, *defaultPluginConfig(), pc)

	off := parsePlugin(t, `config {
  gc { container = false }
  volumes { enabled = false }
}`)
	must.False(t, off.GC.Container)
	must.False(t, off.Volumes.Enabled)
}

func TestPluginConfig_Validation(t *testing.T) {
	for _, c := range []struct {
		hcl, option string
	}{
		{`config { image_pull_timeout = "soon" }`, "image_pull_timeout"},
		{`config { gc_grace = "-1s" }`, "gc_grace"},
		{`config { auth { username = "u" } }`, "auth"},
		{`config { extra_labels = ["job_*", "bogus"] }`, "extra_labels"},
		{`config { extra_labels = ["[x"] }`, "extra_labels"},
	} {
		pc := parsePlugin(t, c.hcl)
		err := validatePluginConfig(&pc)
		must.ErrorIs(t, err, ErrBadConfig, must.Sprint(c.hcl))
		must.ErrorContains(t, err, `"`+c.option+`"`)
	}
	pc := parsePlugin(t, `config { extra_labels = ["job_*", "task*", "node_id"] }`)
	must.NoError(t, validatePluginConfig(&pc))
}

// TestTaskConfig_EverySeedOption: every option of the earlier driver, with
// its name and type.
func TestTaskConfig_EverySeedOption(t *testing.T) {
	tc := parseTask(t, `config {
  image              = "nginx:latest"
  command            = "nginx"
  args               = ["-g", "daemon off;"]
  entrypoint         = "/docker-entrypoint.sh"
  working_dir        = "/srv"
  env                = { GREETING = "hi" }
  volumes            = ["local/conf:/etc/nginx/conf.d:ro"]
  tmpfs              = ["/run"]
  ports              = ["http"]
  network_mode       = "none"
  hostname           = "web-1"
  user               = "nginx"
  labels             = { app = "nginx" }
  cap_add            = ["NET_ADMIN"]
  cap_drop           = ["MKNOD"]
  readonly_rootfs    = true
  init               = true
  tty                = true
  dns                = ["1.1.1.1"]
  dns_search         = ["example.com"]
  dns_options        = ["ndots:5"]
  rosetta            = true
  force_pull         = true
  image_pull_timeout = "10m"
  ssh_agent          = true
  virtualization     = true
  auth {
    username       = "u"
    password       = "p"
    server_address = "registry.example.com"
  }
}`)
	must.Eq(t, TaskConfig{
		Image: "nginx:latest", Command: "nginx", Args: []string{"-g", "daemon off;"}, Entrypoint: "/docker-entrypoint.sh",
		WorkingDir: "/srv", Env: stringMap{"GREETING": "hi"}, Volumes: []string{"local/conf:/etc/nginx/conf.d:ro"},
		Tmpfs: []string{"/run"}, Ports: []string{"http"}, NetworkMode: "none", Hostname: "web-1", User: "nginx",
		Labels: stringMap{"app": "nginx"}, CapAdd: []string{"NET_ADMIN"}, CapDrop: []string{"MKNOD"},
		ReadonlyRootfs: true, Init: true, TTY: true, DNS: []string{"1.1.1.1"}, DNSSearch: []string{"example.com"},
		DNSOptions: []string{"ndots:5"}, Rosetta: true, ForcePull: true, ImagePullTimeout: "10m", SSHAgent: true,
		Virtualization: true, Auth: RegistryAuth{Username: "u", Password: "p", ServerAddress: "registry.example.com"},
	}, tc)
}

func TestTaskConfig_Defaults(t *testing.T) {
	tc := parseTask(t, `config { image = "busybox" }`)
	must.Eq(t, TaskConfig{Image: "busybox"}, tc)
}

// TestTaskConfig_UnknownOptionNamed: an option the driver does not know is
// refused by the schema with its name (the earlier driver's users get told
// instead of having it ignored).
func TestTaskConfig_UnknownOptionNamed(t *testing.T) {
	spec, diags := hclspecutils.Convert(taskConfigSpec)
	must.False(t, diags.HasErrors())
	_, diags, errs := hclutils.ParseHclInterface(map[string]any{"image": "busybox", "privileged": true}, spec, nil)
	must.True(t, diags.HasErrors() || len(errs) > 0)
	must.StrContains(t, fmt.Sprint(diags, errs), `"privileged"`)
}

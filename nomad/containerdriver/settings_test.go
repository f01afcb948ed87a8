package containerdriver

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/helper/uuid"
	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/applecontainer"
)

// nomadTask is a task as the client hands it over: alloc dir, env, ports,
// resources.
func nomadTask(t *testing.T) *drivers.TaskConfig {
	t.Helper()
	allocDir := t.TempDir()
	ports := structs.AllocatedPorts{
		{Label: "http", Value: 25123, To: 80, HostIP: "127.0.0.1"},
		{Label: "admin", Value: 25124, HostIP: "127.0.0.1"},
	}
	return &drivers.TaskConfig{
		ID: uuid.Generate(), AllocID: uuid.Generate(), Name: "web", JobName: "shop", JobID: "shop", TaskGroupName: "frontend",
		Namespace: "default", NodeName: "mac-1", NodeID: uuid.Generate(), AllocDir: allocDir,
		Env: map[string]string{"NOMAD_ALLOC_DIR": "/alloc", "NOMAD_TASK_DIR": "/local", "NOMAD_SECRETS_DIR": "/secrets", "SHARED": "nomad"},
		Resources: &drivers.Resources{
			NomadResources: &structs.AllocatedTaskResources{
				Cpu:    structs.AllocatedCpuResources{CpuShares: 500, ReservedCores: []uint16{0, 1}},
				Memory: structs.AllocatedMemoryResources{MemoryMB: 256, MemoryMaxMB: 512},
			},
			Ports: &ports,
		},
	}
}

func mustResolve(t *testing.T, tc TaskConfig, pc *PluginConfig, cfg *drivers.TaskConfig) *taskSettings {
	t.Helper()
	s, err := resolve(&tc, pc, cfg)
	must.NoError(t, err)
	return s
}

// TestResolve_MapsToContainerCreate: the whole mapping of one task.
func TestResolve_MapsToContainerCreate(t *testing.T) {
	cfg := nomadTask(t)
	pc := defaultPluginConfig()
	pc.ExtraLabels = []string{"job_*", "task_group_name"}
	tc := TaskConfig{
		Image: "nginx:latest", Command: "nginx", Args: []string{"-g", "daemon off;"}, Entrypoint: "/docker-entrypoint.sh",
		WorkingDir: "/srv", Env: stringMap{"SHARED": "task", "GREETING": "hi there"},
		Volumes: []string{"local/conf:/etc/nginx/conf.d:ro", "/var/data:/data", "cache:/cache"}, Tmpfs: []string{"/run"},
		Ports: []string{"http", "admin"}, User: "nginx", Labels: stringMap{"app": "nginx"},
		CapAdd: []string{"NET_ADMIN"}, CapDrop: []string{"MKNOD"}, ReadonlyRootfs: true, Init: true, TTY: true,
		DNS: []string{"1.1.1.1"}, DNSSearch: []string{"example.com"}, DNSOptions: []string{"ndots:5"},
		Rosetta: true, Virtualization: true, SSHAgent: true, ForcePull: true, ImagePullTimeout: "90s",
	}
	s := mustResolve(t, tc, pc, cfg)
	td := cfg.TaskDir()
	must.Eq(t, applecontainer.RunOptions{
		Name: "web-" + cfg.AllocID, Image: "nginx:latest",
		Args: []string{"nginx", "-g", "daemon off;"}, Entrypoint: "/docker-entrypoint.sh",
		User: "nginx", Workdir: "/srv", CPUs: 2, MemoryBytes: 512 << 20,
		Volumes: []string{
			td.SharedAllocDir + ":/alloc", td.LocalDir + ":/local", td.SecretsDir + ":/secrets",
			filepath.Join(td.Dir, "local/conf") + ":/etc/nginx/conf.d:ro", "/var/data:/data", "cache:/cache",
		},
		Tmpfs: []string{"/run"},
		Publish: []applecontainer.Port{
			{HostIP: "127.0.0.1", HostPort: 25123, ContainerPort: 80, Proto: "tcp"},
			{HostIP: "127.0.0.1", HostPort: 25124, ContainerPort: 25124, Proto: "tcp"},
		},
		DNS: []string{"1.1.1.1"}, DNSSearch: []string{"example.com"}, DNSOptions: []string{"ndots:5"},
		Labels: map[string]string{
			"app": "nginx", labelAllocID: cfg.AllocID, labelTaskName: "web", labelDriver: "container",
			labelPrefix + "job_name": "shop", labelPrefix + "job_id": "shop", labelPrefix + "task_group_name": "frontend",
		},
		CapAdd: []string{"NET_ADMIN"}, CapDrop: []string{"MKNOD"},
		ReadOnly: true, Init: true, TTY: true, Rosetta: true, SSH: true, Virtualization: true,
	}, s.Run)
	// Nomad's environment with the task's on top, sorted; never on argv.
	must.Eq(t, []string{"GREETING=hi there", "NOMAD_ALLOC_DIR=/alloc", "NOMAD_SECRETS_DIR=/secrets", "NOMAD_TASK_DIR=/local", "SHARED=task"}, s.Env)
	must.True(t, s.ForcePull)
	must.Eq(t, "1m30s", s.PullTimeout.String())
	must.Eq(t, map[string]string{filepath.Join(td.Dir, "local/conf"): "volumes[0]", "/var/data": "volumes[1]"}, s.VolumeHostDirs)
	args, err := applecontainer.CreateArgs(withEnvFile(s), applecontainer.Version{Major: 1, Minor: 2, Patch: 2})
	must.NoError(t, err)
	for _, a := range args {
		must.StrNotContains(t, a, "hi there", must.Sprint("the environment must not be on the command line"))
	}
}

func withEnvFile(s *taskSettings) applecontainer.RunOptions {
	o := s.Run
	o.EnvFiles = []string{"/state/env"}
	return o
}

// TestResolve_CommandArgsEntrypoint: command overrides CMD, args follow
// it; args alone replace CMD; entrypoint is its own flag.
func TestResolve_CommandArgsEntrypoint(t *testing.T) {
	cfg := nomadTask(t)
	pc := defaultPluginConfig()
	must.Eq(t, []string{"sh", "-c", "echo hi"}, mustResolve(t, TaskConfig{Image: "busybox", Command: "sh", Args: []string{"-c", "echo hi"}}, pc, cfg).Run.Args)
	must.Eq(t, []string{"-c", "x"}, mustResolve(t, TaskConfig{Image: "busybox", Args: []string{"-c", "x"}}, pc, cfg).Run.Args)
	must.Nil(t, mustResolve(t, TaskConfig{Image: "busybox"}, pc, cfg).Run.Args)
}

// TestResolve_Platform: the variant to run (and pull).
func TestResolve_Platform(t *testing.T) {
	s := mustResolve(t, TaskConfig{Image: "ubuntu", Platform: "linux/amd64", Rosetta: true}, defaultPluginConfig(), nomadTask(t))
	must.Eq(t, "linux/amd64", s.Run.Platform)
	must.True(t, s.Run.Rosetta)
}

// TestResolve_Hostname: the container ID is the hostname in Apple
// container, so hostname names the container.
func TestResolve_Hostname(t *testing.T) {
	cfg := nomadTask(t)
	s := mustResolve(t, TaskConfig{Image: "busybox", Hostname: "web-1.example"}, defaultPluginConfig(), cfg)
	must.Eq(t, "web-1.example", s.Run.Name)
	must.True(t, s.NamedByHostname)
}

// TestContainerName_ValidUniqueStable: IDs the CLI accepts, at most 63
// characters, one per task of an allocation, the same on every restart.
func TestContainerName_ValidUniqueStable(t *testing.T) {
	alloc := uuid.Generate()
	seen := map[string]string{}
	for _, task := range []string{"web", "Web", "web/1", "web_1", "a-very-long-task-name-that-goes-on-and-on", "a-very-long-task-name-that-goes-on-and-on2", "---", "x"} {
		n := containerName(alloc, task)
		must.NoError(t, applecontainer.ValidName(n), must.Sprint(n))
		must.LessEq(t, 63, len(n))
		must.True(t, strings.HasSuffix(n, "-"+alloc))
		if prev, dup := seen[n]; dup {
			t.Fatalf("tasks %q and %q share container name %q", prev, task, n)
		}
		seen[n] = task
		must.Eq(t, n, containerName(alloc, task))
	}
	must.Eq(t, "web-"+alloc, containerName(alloc, "web"))
}

// TestResolve_RejectsWithTheOptionNamed: every refusal names the option
// and says what to do instead.
func TestResolve_RejectsWithTheOptionNamed(t *testing.T) {
	for _, c := range []struct {
		name   string
		tc     TaskConfig
		pc     func(*PluginConfig)
		cfg    func(*drivers.TaskConfig)
		option string
		hint   string
	}{
		{name: "no image", tc: TaskConfig{}, option: "image", hint: "required"},
		{name: "memory below 200 MiB", tc: TaskConfig{Image: "b"}, cfg: func(c *drivers.TaskConfig) {
			c.Resources.NomadResources.Memory = structs.AllocatedMemoryResources{MemoryMB: 128}
		}, option: "resources.memory", hint: "200"},
		{name: "host network", tc: TaskConfig{Image: "b", NetworkMode: "host"}, option: "network_mode", hint: "ports"},
		{name: "task network", tc: TaskConfig{Image: "b", NetworkMode: "task:redis"}, option: "network_mode", hint: "own VM"},
		{name: "bridge", tc: TaskConfig{Image: "b", NetworkMode: "bridge"}, option: "network_mode", hint: "remove"},
		{name: "bad network name", tc: TaskConfig{Image: "b", NetworkMode: "My Net"}, option: "network_mode", hint: "container network create"},
		{name: "ports without network", tc: TaskConfig{Image: "b", NetworkMode: "none", Ports: []string{"http"}}, option: "ports", hint: "none"},
		{name: "unknown port label", tc: TaskConfig{Image: "b", Ports: []string{"grpc"}}, option: "ports", hint: "http, admin"},
		{name: "hostname with underscore", tc: TaskConfig{Image: "b", Hostname: "my_host"}, option: "hostname", hint: "no --hostname"},
		{name: "hostname too long", tc: TaskConfig{Image: "b", Hostname: strings.Repeat("h", 64)}, option: "hostname", hint: "63"},
		{name: "absolute volume disabled", tc: TaskConfig{Image: "b", Volumes: []string{"/etc:/host-etc"}},
			pc: func(p *PluginConfig) { p.Volumes.Enabled = false }, option: "volumes[0]", hint: "volumes { enabled = true }"},
		{name: "named volume disabled", tc: TaskConfig{Image: "b", Volumes: []string{"data:/data"}},
			pc: func(p *PluginConfig) { p.Volumes.Enabled = false }, option: "volumes[0]", hint: "enabled"},
		{name: "volume escaping the alloc", tc: TaskConfig{Image: "b", Volumes: []string{"../../../etc:/x"}}, option: "volumes[0]", hint: "inside the allocation"},
		{name: "volume relative container path", tc: TaskConfig{Image: "b", Volumes: []string{"local:data"}}, option: "volumes[0]", hint: "absolute"},
		{name: "volume bad option", tc: TaskConfig{Image: "b", Volumes: []string{"local:/data:z"}}, option: "volumes[0]", hint: "ro or rw"},
		{name: "tmpfs options", tc: TaskConfig{Image: "b", Tmpfs: []string{"/run:size=10m"}}, option: "tmpfs", hint: "no options"},
		{name: "relative working dir", tc: TaskConfig{Image: "b", WorkingDir: "srv"}, option: "working_dir", hint: "absolute"},
		{name: "label with =", tc: TaskConfig{Image: "b", Labels: stringMap{"a": "b=c"}}, option: "labels", hint: "'='"},
		{name: "reserved label", tc: TaskConfig{Image: "b", Labels: stringMap{labelAllocID: "x"}}, option: "labels", hint: "reserved"},
		{name: "env with newline", tc: TaskConfig{Image: "b", Env: stringMap{"CERT": "a\nb"}}, option: "env", hint: "secrets/"},
		{name: "dns not an IP", tc: TaskConfig{Image: "b", DNS: []string{"dns.example"}}, option: "dns", hint: "IP"},
		{name: "capability", tc: TaskConfig{Image: "b", CapAdd: []string{"NET ADMIN"}}, option: "cap_add", hint: "NET_ADMIN"},
		{name: "half auth", tc: TaskConfig{Image: "b", Auth: RegistryAuth{Username: "u"}}, option: "auth", hint: "both"},
		{name: "platform", tc: TaskConfig{Image: "b", Platform: "amd64"}, option: "platform", hint: "os/arch"},
		{name: "bad pull timeout", tc: TaskConfig{Image: "b", ImagePullTimeout: "forever"}, option: "image_pull_timeout", hint: "duration"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := nomadTask(t)
			if c.cfg != nil {
				c.cfg(cfg)
			}
			pc := defaultPluginConfig()
			if c.pc != nil {
				c.pc(pc)
			}
			_, err := resolve(&c.tc, pc, cfg)
			must.ErrorIs(t, err, ErrBadConfig)
			must.ErrorContains(t, err, `"`+c.option+`"`)
			must.ErrorContains(t, err, c.hint)
		})
	}
}

// TestResolve_VolumesRelativeWithoutPluginPermission: paths inside the
// task directory work even with volumes disabled.
func TestResolve_VolumesRelativeWithoutPluginPermission(t *testing.T) {
	cfg := nomadTask(t)
	pc := defaultPluginConfig()
	pc.Volumes.Enabled = false
	s := mustResolve(t, TaskConfig{Image: "b", Volumes: []string{"local/data:/data", "../alloc/shared:/shared:rw"}}, pc, cfg)
	td := cfg.TaskDir()
	must.SliceContains(t, s.Run.Volumes, filepath.Join(td.Dir, "local/data")+":/data")
	must.SliceContains(t, s.Run.Volumes, filepath.Join(td.SharedAllocDir, "shared")+":/shared:rw")
}

// TestResolve_AuthAndDefaults: task auth wins over the plugin's; the
// plugin's pull timeout applies when the task has none.
func TestResolve_AuthAndDefaults(t *testing.T) {
	cfg := nomadTask(t)
	pc := defaultPluginConfig()
	pc.Auth = RegistryAuth{Username: "plugin", Password: "pp"}
	pc.ImagePullTimeout = "7m"
	s := mustResolve(t, TaskConfig{Image: "b"}, pc, cfg)
	must.Eq(t, &applecontainer.Credentials{Username: "plugin", Password: "pp"}, s.Credentials)
	must.Eq(t, "7m0s", s.PullTimeout.String())
	s = mustResolve(t, TaskConfig{Image: "b", Auth: RegistryAuth{Username: "task", Password: "tp", ServerAddress: "r.example"}}, pc, cfg)
	must.Eq(t, &applecontainer.Credentials{Username: "task", Password: "tp", ServerAddress: "r.example"}, s.Credentials)
	pc.Auth = RegistryAuth{}
	must.Nil(t, mustResolve(t, TaskConfig{Image: "b"}, pc, cfg).Credentials)
}

// TestResolve_GroupDNSAndTaskUser: the group's network.dns and the task's
// user stanza apply when the config does not set them.
func TestResolve_GroupDNSAndTaskUser(t *testing.T) {
	cfg := nomadTask(t)
	cfg.DNS = &drivers.DNSConfig{Servers: []string{"10.0.0.2"}, Searches: []string{"svc"}, Options: []string{"ndots:2"}}
	cfg.User = "nobody"
	s := mustResolve(t, TaskConfig{Image: "b"}, defaultPluginConfig(), cfg)
	must.Eq(t, []string{"10.0.0.2"}, s.Run.DNS)
	must.Eq(t, []string{"svc"}, s.Run.DNSSearch)
	must.Eq(t, []string{"ndots:2"}, s.Run.DNSOptions)
	must.Eq(t, "nobody", s.Run.User)
	must.Eq(t, 0, len(s.Run.Networks))
	must.Eq(t, []string{"none"}, mustResolve(t, TaskConfig{Image: "b", NetworkMode: "none"}, defaultPluginConfig(), cfg).Run.Networks)
	must.Eq(t, []string{"backend"}, mustResolve(t, TaskConfig{Image: "b", NetworkMode: "backend"}, defaultPluginConfig(), cfg).Run.Networks)
}

// TestResolve_MemoryFromResources: no resources, no flag; memory_max is the
// VM's size when larger.
func TestResolve_MemoryFromResources(t *testing.T) {
	cfg := nomadTask(t)
	cfg.Resources.NomadResources.Memory = structs.AllocatedMemoryResources{MemoryMB: 300}
	cfg.Resources.NomadResources.Cpu.ReservedCores = nil
	s := mustResolve(t, TaskConfig{Image: "b"}, defaultPluginConfig(), cfg)
	must.Eq(t, int64(300<<20), s.Run.MemoryBytes)
	must.Eq(t, 0, s.Run.CPUs)
	cfg.Resources = nil
	s = mustResolve(t, TaskConfig{Image: "b"}, defaultPluginConfig(), cfg)
	must.Eq(t, int64(0), s.Run.MemoryBytes)
}

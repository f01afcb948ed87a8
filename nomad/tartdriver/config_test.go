package tartdriver

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/nomad/helper/pluginutils/hclutils"
	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/tart"
)

func parseTask(t *testing.T, hcl string) TaskConfig {
	t.Helper()
	var tc TaskConfig
	hclutils.NewConfigParser(taskConfigSpec).ParseHCL(t, hcl, &tc)
	return tc
}

func parsePlugin(t *testing.T, hcl string) PluginConfig {
	t.Helper()
	var pc PluginConfig
	hclutils.NewConfigParser(pluginConfigSpec).ParseHCL(t, hcl, &pc)
	return pc
}

func TestTaskConfig_DefaultsFromSpec(t *testing.T) {
	tc := parseTask(t, `config { image = "ghcr.io/cirruslabs/macos-sequoia-base:latest" }`)
	must.Eq(t, TaskConfig{
		Image:          "ghcr.io/cirruslabs/macos-sequoia-base:latest",
		Headless:       true,
		GuestTransport: "auto",
		PullPolicy:     "missing",
		RandomMAC:      true,
		ReadyTimeout:   "5m",
		ConsoleLog:     true,
		DiskMounts:     []DiskMount{},
		DirShares:      []DirShare{},
	}, tc)
}

func TestTaskConfig_EveryOptionFromHCL(t *testing.T) {
	tc := parseTask(t, `config {
  image       = "ghcr.io/cirruslabs/macos-sequoia-base:latest"
  cpu         = 4
  memory      = 8192
  disk_size   = 80
  command     = "echo hi"
  args        = ["a", "b"]
  headless    = false
  suspendable = true
  nested      = false
  ssh_user     = "ci"
  ssh_password = "s3cret"
  ssh_port     = 2222
  ssh_private_key = "/etc/keys/id"
  guest_transport = "ssh"
  pull_policy     = "always"
  image_pull_timeout = "1h"
  display       = "1920x1080"
  random_mac    = false
  ready_timeout = "90s"
  work_dir      = "/Users/admin"
  console_log   = false
  auth {
    username = "u"
    password = "p"
    server   = "ghcr.io"
  }
  disk_mount {
    path    = "/data/disk.img"
    options = "ro,sync=none"
  }
  dir_share {
    name    = "source"
    path    = "/src"
    options = "ro,tag=src"
  }
  dir_share {
    path = "/cache"
  }
  root_disk_options  = "caching=cached,sync=none"
  net_softnet        = true
  net_softnet_allow  = "10.0.0.0/8"
  net_softnet_expose = "2222:22,8080:80"
  net_host           = false
  net_bridged        = ""
}`)
	must.Eq(t, TaskConfig{
		Image: "ghcr.io/cirruslabs/macos-sequoia-base:latest", CPU: 4, Memory: 8192, DiskSize: 80,
		Command: "echo hi", Args: []string{"a", "b"}, Headless: false, Suspendable: true,
		SSHUser: "ci", SSHPassword: "s3cret", SSHPort: 2222, SSHPrivateKey: "/etc/keys/id",
		GuestTransport: "ssh", PullPolicy: "always", ImagePullTimeout: "1h", Display: "1920x1080",
		RandomMAC: false, ReadyTimeout: "90s", WorkDir: "/Users/admin",
		Auth:            RegistryAuth{Username: "u", Password: "p", Server: "ghcr.io"},
		DiskMounts:      []DiskMount{{Path: "/data/disk.img", Options: "ro,sync=none"}},
		DirShares:       []DirShare{{Name: "source", Path: "/src", Options: "ro,tag=src"}, {Path: "/cache"}},
		RootDiskOptions: "caching=cached,sync=none", NetSoftnet: true, NetSoftnetAllow: "10.0.0.0/8",
		NetSoftnetExpose: "2222:22,8080:80",
	}, tc)
}

func TestPluginConfig_Defaults(t *testing.T) {
	pc := parsePlugin(t, `config {}`)
	must.Eq(t, PluginConfig{
		MaxMacOSVMs: 2, GC: true, GCGrace: "2m", SSHUser: "admin", SSHPassword: "admin",
		SSHPort: 22, ImagePullTimeout: "30m", AutoPrune: true,
	}, pc)
}

func TestPluginConfig_AllOptions(t *testing.T) {
	pc := parsePlugin(t, `config {
  tart_binary    = "/opt/homebrew/bin/tart"
  tart_home      = "/Users/ci/.tart"
  allowed_images = ["ghcr.io/cirruslabs/*"]
  denied_images  = ["*:latest"]
  max_macos_vms  = 1
  max_linux_vms  = 4
  gc             = false
  gc_grace       = "10m"
  ssh_user       = "ci"
  ssh_password   = ""
  ssh_port       = 2022
  image_pull_timeout = "2h"
  auto_prune     = false
  slots_dir      = "/tmp/slots"
  auth {
    username = "robot"
    password = "token"
  }
}`)
	must.Eq(t, PluginConfig{
		TartBinary: "/opt/homebrew/bin/tart", TartHome: "/Users/ci/.tart",
		AllowedImages: []string{"ghcr.io/cirruslabs/*"}, DeniedImages: []string{"*:latest"},
		MaxMacOSVMs: 1, MaxLinuxVMs: 4, GC: false, GCGrace: "10m", SSHUser: "ci", SSHPort: 2022,
		ImagePullTimeout: "2h", AutoPrune: false, SlotsDir: "/tmp/slots",
		Auth: RegistryAuth{Username: "robot", Password: "token"},
	}, pc)
}

func defaultPlugin() *PluginConfig {
	return &PluginConfig{MaxMacOSVMs: 2, GC: true, GCGrace: "2m", SSHUser: "admin", SSHPassword: "admin", SSHPort: 22, ImagePullTimeout: "30m", AutoPrune: true}
}

func TestResolve_MapsOptionsOntoTartFlags(t *testing.T) {
	tc := parseTask(t, `config {
  image = "ghcr.io/cirruslabs/ubuntu:latest"
  command = "make test"
  disk_mount {
    path = "/data/d.img"
    options = "ro,sync=fsync,caching=uncached"
  }
  dir_share {
    path = "/cache"
    options = "ro"
  }
  root_disk_options = "caching=cached"
  net_softnet_expose = "8080:80"
}`)
	s, err := resolve(&tc, defaultPlugin())
	must.NoError(t, err)
	must.Eq(t, []string{"/bin/sh", "-c", "make test"}, s.Command)
	must.Eq(t, transportAuto, s.Transport)
	must.Eq(t, "admin", s.SSHUser)
	must.Eq(t, "admin", s.SSHPassword)
	must.Eq(t, 22, s.SSHPort)
	must.Eq(t, 30*time.Minute, s.PullTimeout)
	must.Eq(t, 5*time.Minute, s.ReadyTimeout)
	must.True(t, s.Run.NoGraphics)
	must.Eq(t, []tart.Disk{{Path: "/data/d.img", ReadOnly: true, Sync: "fsync", Caching: "uncached"}}, s.Run.Disks)
	must.Eq(t, []tart.Share{{Name: "cache", Path: "/cache", ReadOnly: true}}, s.Run.Dirs)
	must.Eq(t, tart.DiskOptions{Caching: "cached"}, s.Run.RootDisk)
	must.Eq(t, tart.NetSoftnet, s.Run.Net.Mode)
	must.Eq(t, []string{"8080:80"}, s.Run.Net.SoftnetExpose)
	must.Nil(t, s.Credentials)
}

func TestResolve_CommandWithArgsRunsWithoutShell(t *testing.T) {
	s, err := resolve(&TaskConfig{Image: "vm", Command: "/usr/bin/env", Args: []string{"a b", "$HOME"}}, defaultPlugin())
	must.NoError(t, err)
	must.Eq(t, []string{"/usr/bin/env", "a b", "$HOME"}, s.Command)
}

func TestResolve_AuthFallsBackToPluginAndKeepsServer(t *testing.T) {
	pc := defaultPlugin()
	pc.Auth = RegistryAuth{Username: "robot", Password: "pw", Server: "ghcr.io"}
	s, err := resolve(&TaskConfig{Image: "ghcr.io/x/y:1"}, pc)
	must.NoError(t, err)
	must.Eq(t, &tart.Credentials{Username: "robot", Password: "pw", Hostname: "ghcr.io"}, s.Credentials)

	s, err = resolve(&TaskConfig{Image: "ghcr.io/x/y:1", Auth: RegistryAuth{Username: "me", Password: "mine"}}, pc)
	must.NoError(t, err)
	must.Eq(t, "me", s.Credentials.Username)
}

func TestResolve_PluginPasswordOnlyForPluginUser(t *testing.T) {
	s, err := resolve(&TaskConfig{Image: "vm", SSHUser: "other"}, defaultPlugin())
	must.NoError(t, err)
	must.Eq(t, "", s.SSHPassword)
}

func TestResolve_PrivateKeyFromFileOrText(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "id")
	must.NoError(t, os.WriteFile(p, []byte("KEYDATA"), 0o600))
	s, err := resolve(&TaskConfig{Image: "vm", SSHPrivateKey: p}, defaultPlugin())
	must.NoError(t, err)
	must.Eq(t, "KEYDATA", string(s.SSHPrivateKey))

	s, err = resolve(&TaskConfig{Image: "vm", SSHPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----"}, defaultPlugin())
	must.NoError(t, err)
	must.StrHasPrefix(t, "-----BEGIN", string(s.SSHPrivateKey))
}

func TestResolve_PrivateKeyRelativeToTaskDir(t *testing.T) {
	taskDir := t.TempDir()
	must.NoError(t, os.MkdirAll(filepath.Join(taskDir, "secrets"), 0o700))
	must.NoError(t, os.WriteFile(filepath.Join(taskDir, "secrets", "id"), []byte("RELKEY"), 0o600))
	s, err := resolveIn(&TaskConfig{Image: "vm", SSHPrivateKey: "secrets/id"}, defaultPlugin(), taskDir)
	must.NoError(t, err)
	must.Eq(t, "RELKEY", string(s.SSHPrivateKey))
	_, err = resolveIn(&TaskConfig{Image: "vm", SSHPrivateKey: "../../etc/key"}, defaultPlugin(), taskDir)
	must.ErrorIs(t, err, ErrBadConfig)
}

func TestResolve_RejectsBadInputWithClearErrors(t *testing.T) {
	noPassword := defaultPlugin()
	noPassword.SSHPassword = ""
	cases := []struct {
		name   string
		tc     TaskConfig
		pc     *PluginConfig
		target error
		option string
	}{
		{"missing image", TaskConfig{}, nil, ErrBadConfig, "image"},
		{"negative cpu", TaskConfig{Image: "vm", CPU: -1}, nil, ErrBadConfig, "cpu"},
		{"args without command", TaskConfig{Image: "vm", Args: []string{"x"}}, nil, ErrBadConfig, "args"},
		{"bad transport", TaskConfig{Image: "vm", GuestTransport: "telnet"}, nil, ErrBadConfig, "guest_transport"},
		{"bad pull policy", TaskConfig{Image: "vm", PullPolicy: "sometimes"}, nil, ErrBadConfig, "pull_policy"},
		{"bad pull timeout", TaskConfig{Image: "vm", ImagePullTimeout: "soon"}, nil, ErrBadConfig, "image_pull_timeout"},
		{"bad ready timeout", TaskConfig{Image: "vm", ReadyTimeout: "-1s"}, nil, ErrBadConfig, "ready_timeout"},
		{"bad display", TaskConfig{Image: "vm", Display: "big"}, nil, ErrBadConfig, "display"},
		{"relative work dir", TaskConfig{Image: "vm", WorkDir: "src"}, nil, ErrBadConfig, "work_dir"},
		{"half auth", TaskConfig{Image: "vm", Auth: RegistryAuth{Username: "u"}}, nil, ErrBadConfig, "auth"},
		{"bad disk sync", TaskConfig{Image: "vm", DiskMounts: []DiskMount{{Path: "/d", Options: "sync=maybe"}}}, nil, ErrBadConfig, "disk_mount.options"},
		{"unknown disk option", TaskConfig{Image: "vm", DiskMounts: []DiskMount{{Path: "/d", Options: "fast"}}}, nil, ErrBadConfig, "disk_mount.options"},
		{"bad root caching", TaskConfig{Image: "vm", RootDiskOptions: "caching=always"}, nil, ErrBadConfig, "root_disk_options"},
		{"reserved share", TaskConfig{Image: "vm", DirShares: []DirShare{{Name: "alloc", Path: "/x"}}}, nil, ErrBadConfig, "dir_share[0].name"},
		{"relative share", TaskConfig{Image: "vm", DirShares: []DirShare{{Name: "x", Path: "x"}}}, nil, ErrBadConfig, "dir_share[0].path"},
		{"bad share option", TaskConfig{Image: "vm", DirShares: []DirShare{{Name: "x", Path: "/x", Options: "rw"}}}, nil, ErrBadConfig, "dir_share.options"},
		{"bad expose", TaskConfig{Image: "vm", NetSoftnetExpose: "80"}, nil, ErrBadConfig, "net_softnet_expose"},
		{"expose out of range", TaskConfig{Image: "vm", NetSoftnetExpose: "70000:80"}, nil, ErrBadConfig, "net_softnet_expose"},
		{"bad cidr", TaskConfig{Image: "vm", NetSoftnetAllow: "everything"}, nil, ErrBadConfig, "net_softnet_allow"},
		{"two net modes", TaskConfig{Image: "vm", NetBridged: "en0", NetHost: true}, nil, ErrBadConfig, "net_bridged"},
		{"suspendable nested", TaskConfig{Image: "vm", Suspendable: true, Nested: true}, nil, ErrBadConfig, "suspendable"},
		{"relative key", TaskConfig{Image: "vm", SSHPrivateKey: "id_rsa"}, nil, ErrBadConfig, "ssh_private_key"},
		{"ssh command without creds", TaskConfig{Image: "vm", Command: "true", GuestTransport: "ssh"}, noPassword, ErrNoCredentials, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pc := c.pc
			if pc == nil {
				pc = defaultPlugin()
			}
			_, err := resolve(&c.tc, pc)
			must.ErrorIs(t, err, c.target)
			var ce *ConfigError
			if c.option != "" {
				must.True(t, errors.As(err, &ce))
				must.Eq(t, c.option, ce.Option)
			}
		})
	}
}

func TestResolve_SecretsNeverInErrors(t *testing.T) {
	_, err := resolve(&TaskConfig{Image: "vm", SSHPrivateKey: "not-a-key-but-secret"}, defaultPlugin())
	must.Error(t, err)
	must.StrNotContains(t, err.Error(), "not-a-key-but-secret")
}

func TestImageAllowed(t *testing.T) {
	allowed := []string{"ghcr.io/cirruslabs/*", "local-*"}
	denied := []string{"*:latest"}
	must.NoError(t, imageAllowed("ghcr.io/cirruslabs/macos-sequoia-base:15.1", allowed, denied))
	must.NoError(t, imageAllowed("local-vm", allowed, denied))
	must.ErrorIs(t, imageAllowed("ghcr.io/cirruslabs/macos-sequoia-base:latest", allowed, denied), ErrImageNotAllowed)
	must.ErrorIs(t, imageAllowed("docker.io/evil/vm:1", allowed, denied), ErrImageNotAllowed)
	must.NoError(t, imageAllowed("anything", nil, nil))
}

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		p, s string
		ok   bool
	}{
		{"a", "a", true}, {"a", "b", false}, {"*", "x/y:z", true}, {"a*", "abc", true},
		{"*c", "abc", true}, {"a*c", "abc", true}, {"a*c", "abd", false}, {"a*b*c", "a1b2c", true},
		{"a*b*c", "a1c2b", false}, {"ghcr.io/*:1", "ghcr.io/x/y:1", true},
	} {
		must.Eq(t, c.ok, globMatch(c.p, c.s), must.Sprintf("%q vs %q", c.p, c.s))
	}
}

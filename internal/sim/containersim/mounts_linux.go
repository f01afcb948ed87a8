package containersim

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// containerMounts turns the configuration's mounts plus the generated
// /etc/hostname, /etc/hosts and /etc/resolv.conf into runc mounts.
func (e *env) containerMounts(c *container) ([]specs.Mount, error) {
	etc := filepath.Join(c.Bundle, "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		return nil, err
	}
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	if c.Opts.IPv4 != "" {
		ip, _, _ := strings.Cut(c.Opts.IPv4, "/")
		hosts += fmt.Sprintf("%s\t%s\n", ip, c.ID)
	}
	files := map[string]string{
		"hostname": c.ID + "\n",
		"hosts":    hosts,
	}
	if c.Config.DNS != nil {
		var b strings.Builder
		for _, ns := range c.Config.DNS.Nameservers {
			fmt.Fprintf(&b, "nameserver %s\n", ns)
		}
		if c.Config.DNS.Domain != "" {
			fmt.Fprintf(&b, "domain %s\n", c.Config.DNS.Domain)
		}
		if len(c.Config.DNS.SearchDomains) > 0 {
			fmt.Fprintf(&b, "search %s\n", strings.Join(c.Config.DNS.SearchDomains, " "))
		}
		if len(c.Config.DNS.Options) > 0 {
			fmt.Fprintf(&b, "options %s\n", strings.Join(c.Config.DNS.Options, " "))
		}
		files["resolv.conf"] = b.String()
	}
	var out []specs.Mount
	for _, name := range []string{"hostname", "hosts", "resolv.conf"} {
		body, ok := files[name]
		if !ok {
			continue
		}
		p := filepath.Join(etc, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return nil, err
		}
		out = append(out, specs.Mount{Destination: "/etc/" + name, Type: "bind", Source: p,
			Options: []string{"rbind", "rprivate"}})
	}
	for _, m := range c.Config.Mounts {
		opts := []string{}
		ro := contains(m.Options, "ro") || contains(m.Options, "readonly")
		switch {
		case m.Type["tmpfs"] != nil:
			opts = append(opts, "nosuid", "nodev", "mode=1777")
			if ro {
				opts = append(opts, "ro")
			}
			out = append(out, specs.Mount{Destination: m.Destination, Type: "tmpfs", Source: "tmpfs", Options: opts})
		default: // virtiofs shares of host directories
			if !fileExists(m.Source) {
				return nil, fmt.Errorf("mount source path '%s' does not exist", m.Source)
			}
			opts = append(opts, "rbind", "rprivate")
			if ro {
				opts = append(opts, "ro")
			}
			out = append(out, specs.Mount{Destination: m.Destination, Type: "bind", Source: m.Source, Options: opts})
		}
	}
	if c.Opts.SSHAuthSock != "" && fileExists(c.Opts.SSHAuthSock) {
		out = append(out, specs.Mount{Destination: sshSockInContainer, Type: "bind",
			Source: c.Opts.SSHAuthSock, Options: []string{"bind", "rprivate"}})
	}
	return out, nil
}

// reapCrashed cleans up after a runtime process that died without doing it
// (SIGKILL, `sim fault crash-runtime`): the VM goes down with its runtime.
func (e *env) reapCrashed(c *container) {
	if fileExists(filepath.Join(e.runcRoot(), c.ID)) {
		_ = runQuiet(runcBinary(e), "--root", e.runcRoot(), "delete", "--force", c.ID)
	}
	_ = removeNetns(e.netnsPath(c.ID))
	_ = unmountRootfs(c)
	_ = os.Remove(filepath.Join(c.Bundle, "init.pid"))
}

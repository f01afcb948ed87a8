package containersim

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

func systemCommand() *command {
	fmtOpt := option{Long: "format", Value: "format", Enum: []string{"json", "table"}, Help: "Format of the output"}
	return &command{Name: "system", Aliases: []string{"s"}, Abstract: "Manage system components", Subs: []*command{
		{Name: "start", Abstract: "Start `container` services", Run: cmdSystemStart, Options: []option{
			{Long: "app-root", Short: 'a', Value: "app-root", Help: "Path to the root directory for application data"},
			{Long: "install-root", Value: "install-root", Help: "Path to the root directory for application executables and plugins"},
			{Long: "log-root", Value: "log-root", Help: "Path to the root directory for log data"},
			{Long: "enable-kernel-install", Help: "Install the recommended default kernel without asking"},
			{Long: "disable-kernel-install", Help: "Do not install a kernel"},
			{Long: "timeout", Value: "timeout", Int: true, Help: "Seconds to wait for the API server"},
		}},
		{Name: "stop", Abstract: "Stop all `container` services", Run: cmdSystemStop,
			Options: []option{{Long: "prefix", Short: 'p', Value: "prefix", Help: "Launchd prefix for services"}}},
		{Name: "status", Abstract: "Show the status of `container` services", Run: cmdSystemStatus,
			Options: []option{{Long: "prefix", Short: 'p', Value: "prefix", Help: "Launchd prefix"}, fmtOpt}},
		{Name: "version", Abstract: "Show version information", Run: cmdSystemVersion, Options: []option{fmtOpt}},
		{Name: "kernel", Abstract: "Manage the default kernel configuration", Subs: []*command{
			{Name: "set", Abstract: "Set the default kernel", Run: cmdKernelSet, Options: []option{
				{Long: "recommended", Help: "Download and install the recommended kernel"},
				{Long: "binary", Value: "binary", Help: "Path to the kernel binary"},
				{Long: "tar", Value: "tar", Help: "Filesystem path or remote URL to a tar archive"},
				{Long: "arch", Value: "arch", Help: "Architecture"},
				{Long: "force", Help: "Overwrite an existing kernel"},
			}},
		}},
	}}
}

func (e *env) kernelMarker() string { return filepath.Join(e.root, "kernels", "default.kernel-arm64") }

const recommendedKernelURL = "https://github.com/kata-containers/kata-containers/releases/download/3.28.0/kata-static-3.28.0-arm64.tar.zst"

func (e *env) installKernel() error {
	if err := os.MkdirAll(filepath.Dir(e.kernelMarker()), 0o755); err != nil {
		return err
	}
	return os.WriteFile(e.kernelMarker(), []byte("container-sim: no kernel is needed on Linux\n"), 0o644)
}

func cmdSystemStart(e *env, p *parsed) error {
	if r := p.str("app-root", ""); r != "" {
		e.root = r
	}
	if err := os.MkdirAll(e.root, 0o755); err != nil {
		return failf("failed to create app root %s: %v", e.root, err)
	}
	fmt.Fprintln(e.stderr, "Launching container-apiserver...")
	if e.knobSet("CONTAINER_SIM_APISERVER_DOWN") {
		return failf("failed to get a response from apiserver: %s", xpcInvalid)
	}
	fmt.Fprintln(e.stderr, "Testing access to container-apiserver...")
	if !e.apiserverRunning() {
		// Boot: persisted containers are loaded as stopped; --rm ones are reaped.
		all, _ := e.loadAll()
		for _, c := range all {
			if !c.Alive && c.Opts.AutoRemove {
				_ = e.removeContainer(c)
			}
		}
		if err := writeJSONAtomic(filepath.Join(e.root, "apiserver.json"), apiserverState{StartedDate: time.Now().UTC()}); err != nil {
			return err
		}
	}
	if fileExists(e.kernelMarker()) || p.flag("disable-kernel-install") {
		return nil
	}
	if !p.flag("enable-kernel-install") {
		fmt.Fprintf(e.stdout, "No default kernel configured.\nInstall the recommended default kernel from [%s]? [Y/n]: ", recommendedKernelURL)
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && line == "" {
			return failf("failed to read user input")
		}
		if a := strings.ToLower(strings.TrimSpace(line)); a != "" && a != "y" && a != "yes" {
			fmt.Fprintln(e.stdout, "Please use the `container system kernel set --recommended` command to configure the default kernel")
			return nil
		}
	}
	fmt.Fprintln(e.stderr, "Installing kernel...")
	return e.installKernel()
}

func cmdKernelSet(e *env, p *parsed) error {
	if !p.flag("recommended") && !p.has("binary") && !p.has("tar") {
		return failf("must specify --recommended, --binary or --tar")
	}
	return e.installKernel()
}

// ensureKernel is checked by run/start: a VM cannot boot without one.
func (e *env) ensureKernel() error {
	if fileExists(e.kernelMarker()) {
		return nil
	}
	return failf("%s", czDescRaw(codeNotFound, "default kernel not found at "+e.kernelMarker())+
		` (cause: "run container system kernel set --recommended")`)
}

func cmdSystemStop(e *env, p *parsed) error {
	all, err := e.loadAll()
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, c := range all {
		if !c.Alive {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = sendControl(c.Bundle, controlRequest{Op: "stop", Signal: int(unix.SIGTERM), Timeout: 5})
		}()
	}
	wg.Wait()
	if err := os.Remove(filepath.Join(e.root, "apiserver.json")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func (e *env) statusFields(status string) jobj {
	running := status == "running"
	val := func(s string) string {
		if running {
			return s
		}
		return ""
	}
	return jobj{
		{"status", status},
		{"appRoot", e.root},
		{"installRoot", filepath.Dir(filepath.Dir(e.self))},
		{"logRoot", val(filepath.Join(e.root, "logs"))},
		{"apiServerVersion", val(e.versionLine("container-apiserver"))},
		{"apiServerCommit", val(simCommit)},
		{"apiServerBuild", val("release")},
		{"apiServerAppName", val("container-apiserver")},
	}
}

func cmdSystemStatus(e *env, p *parsed) error {
	registered := fileExists(filepath.Join(e.root, "apiserver.json"))
	status := "running"
	switch {
	case !registered:
		status = "unregistered"
	case !e.apiserverRunning():
		status = "not running"
	}
	if p.str("format", "table") == "json" && e.ver.atLeast(0, 10) {
		fmt.Fprintf(e.stdout, "%s\n", renderJSON(e.statusFields(status), e.listStyle()))
		if status != "running" {
			return &exitCode{exitFailure}
		}
		return nil
	}
	switch status {
	case "unregistered":
		return &stdoutFailure{"apiserver is not running and not registered with launchd"}
	case "not running":
		return &stdoutFailure{"apiserver is not running"}
	}
	if !e.ver.atLeast(0, 10) {
		fmt.Fprintln(e.stdout, "apiserver is running")
		return nil
	}
	f := e.statusFields(status)
	names := map[string]string{"apiServerVersion": "apiserver.version", "apiServerCommit": "apiserver.commit",
		"apiServerBuild": "apiserver.build", "apiServerAppName": "apiserver.appName"}
	rows := [][]string{{"FIELD", "VALUE"}}
	for _, kv := range f {
		k := kv.K
		if n, ok := names[k]; ok {
			k = n
		}
		rows = append(rows, []string{k, kv.V.(string)})
	}
	fmt.Fprint(e.stdout, renderTable(rows))
	return nil
}

func cmdSystemVersion(e *env, p *parsed) error {
	if !e.ver.atLeast(0, 8) {
		return rootUsageErr("Plugin 'container-version' not found.")
	}
	items := []any{jobj{{"appName", "container"}, {"buildType", "release"}, {"commit", simCommit}, {"version", e.ver.Raw}}}
	up := e.apiserverRunning()
	if up {
		items = append(items, jobj{{"appName", "container-apiserver"}, {"buildType", "release"}, {"commit", simCommit},
			{"version", e.versionLine("container-apiserver")}})
	}
	if p.str("format", "table") == "json" {
		fmt.Fprintf(e.stdout, "%s\n", renderJSON(items, e.listStyle()))
		return nil
	}
	rows := [][]string{{"COMPONENT", "VERSION", "BUILD", "COMMIT"}, {"CLI", e.ver.Raw, "release", simCommit}}
	if up {
		rows = append(rows, []string{"API Server", e.versionLine("container-apiserver"), "release", simCommit})
	}
	fmt.Fprint(e.stdout, renderTable(rows))
	return nil
}

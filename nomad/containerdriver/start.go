package containerdriver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/tartanhq/tartan/applecontainer"
	"github.com/tartanhq/tartan/nomad/driverkit"
	"github.com/tartanhq/tartan/supervisor"
)

// stateDirName is the driver's private directory inside the task dir. The
// task dir itself is not mounted into the container (only local/, secrets/
// and the alloc dir are), so the container cannot see it.
const stateDirName = ".containerdriver"

// envFileName holds the container's environment while `container create`
// reads it: secrets stay off the CLI's command line.
const envFileName = "env"

// startWait bounds the wait for a created container to run (the VM boots).
const startWait = 2 * time.Minute

// StartTask pulls the image when needed, creates the container and runs it
// attached under the task's supervisor.
func (d *Driver) StartTask(cfg *drivers.TaskConfig) (*drivers.TaskHandle, *drivers.DriverNetwork, error) {
	if _, ok := d.tasks.Get(cfg.ID); ok {
		return nil, nil, fmt.Errorf("task with ID %q already started", cfg.ID)
	}
	handle, err := d.startTask(cfg)
	if err != nil {
		return nil, nil, driverkit.StartFailed(d.eventer, d.logger, cfg, err)
	}
	return handle, nil, nil
}

func (d *Driver) startTask(cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	pc, client, err := d.snapshot()
	if err != nil {
		return nil, structs.NewRecoverableError(err, true)
	}
	var tc TaskConfig
	if err := cfg.DecodeDriverConfig(&tc); err != nil {
		return nil, fmt.Errorf("%w: decoding task config: %v", ErrBadConfig, err)
	}
	s, err := resolve(&tc, pc, cfg)
	if err != nil {
		return nil, err
	}
	ctx := d.ctx
	if err := checkHost(ctx, client, s); err != nil {
		return nil, err
	}
	name := s.Run.Name
	d.inFlight.Store(name, true)
	defer d.inFlight.Delete(name)

	stateDir := filepath.Join(cfg.TaskDir().Dir, stateDirName)
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the driver's task directory: %w", err)
	}
	// A supervisor or result left from an earlier run of this task must
	// neither hold the state directory nor be read as this run's.
	if supervisor.Alive(stateDir) {
		supervisor.Stop(stateDir, 5*time.Second)
	}
	_ = os.Remove(filepath.Join(stateDir, "exit.json"))

	if err := d.pullImage(ctx, client, cfg, s); err != nil {
		return nil, err
	}
	if err := d.removeStale(ctx, client, cfg, name); err != nil {
		return nil, err
	}
	id, err := createContainer(ctx, client, s, stateDir)
	if err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := client.Delete(dctx, id, true); err != nil && !errors.Is(err, applecontainer.ErrNotFound) {
				d.logger.Warn("deleting the container of a failed start", "container", id, "error", err)
			}
			supervisor.Stop(stateDir, 0)
		}
	}()

	attached := client.StartAttachedCommand(id)
	spec := &supervisor.Spec{StateDir: stateDir, Local: &supervisor.Local{Argv: attached.Args, Env: attached.Env, Target: id}}
	if !pc.DisableLogCollection {
		spec.StdoutPath, spec.StderrPath = cfg.StdoutPath, cfg.StderrPath
	}
	if _, err := supervisor.Launch(spec, d.launchOptions()); err != nil {
		return nil, err
	}
	st := TaskState{ContainerID: id, StateDir: stateDir, Image: s.Run.Image, StartedAt: time.Now(), StartArgs: attached.Args[1:]}
	if err := waitRunning(ctx, client, &st); err != nil {
		return nil, err
	}

	h := newTaskHandle(d.logger.With("task", cfg.Name, "container", id), cfg, st)
	handle := drivers.NewTaskHandle(taskHandleVersion)
	handle.Config = cfg
	handle.State = drivers.TaskStateRunning
	if err := handle.SetDriverState(&st); err != nil {
		return nil, fmt.Errorf("encoding driver state: %w", err)
	}
	started = true
	d.track(h)
	d.emit(cfg, "Container "+id+" started", map[string]string{"container_id": id})
	return handle, nil
}

// track registers a task and starts watching it.
func (d *Driver) track(h *taskHandle) {
	h.stats = newStatsSampler(d, h)
	d.tasks.Set(h.cfg.ID, h)
	go h.watch(d.ctx, d.inspectState)
}

// inspectState is the watcher's view of a container.
func (d *Driver) inspectState(ctx context.Context, id string) (applecontainer.State, error) {
	_, client, err := d.snapshot()
	if err != nil {
		return "", err
	}
	c, err := client.Inspect(ctx, id)
	if err != nil {
		return "", err
	}
	return c.State, nil
}

// checkHost checks what the CLI version and the host must offer, naming
// the task option that needs it.
func checkHost(ctx context.Context, client *applecontainer.Client, s *taskSettings) error {
	vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := client.Version(vctx)
	if err != nil {
		return structs.NewRecoverableError(fmt.Errorf("asking the container CLI for its version: %w", err), true)
	}
	if _, err := applecontainer.CreateArgs(s.Run, v); err != nil {
		return explainInput(err)
	}
	if s.Run.SSH && os.Getenv("SSH_AUTH_SOCK") == "" {
		return badOption("ssh_agent", "true", "the Nomad client has no SSH_AUTH_SOCK in its environment, so there is no agent to forward; start the client with SSH_AUTH_SOCK set or remove ssh_agent")
	}
	for dir, opt := range s.VolumeHostDirs {
		if _, err := os.Stat(dir); err != nil {
			return badOption(opt, dir, "the host path does not exist (Apple container shares existing directories only): %v", err)
		}
	}
	return nil
}

// runOptionNames maps the client's RunOptions fields to task options, so
// an error about --cap-add says cap_add.
var runOptionNames = map[string]string{
	"Name": "hostname", "Entrypoint": "entrypoint", "Env": "env", "User": "user", "Workdir": "working_dir",
	"CPUs": "resources.cores", "MemoryBytes": "resources.memory", "Volumes": "volumes", "Tmpfs": "tmpfs",
	"Publish": "ports", "Networks": "network_mode", "DNS": "dns", "DNSSearch": "dns_search", "DNSOptions": "dns_options",
	"Labels": "labels", "CapAdd": "cap_add", "CapDrop": "cap_drop", "ReadOnly": "readonly_rootfs", "Init": "init",
	"TTY": "tty", "Rosetta": "rosetta", "SSH": "ssh_agent", "Virtualization": "virtualization", "Platform": "platform",
}

// explainInput turns the client's input or version errors into config
// errors that name the task option.
func explainInput(err error) error {
	var in *applecontainer.InputError
	if errors.As(err, &in) {
		field, _, _ := strings.Cut(in.Option, " ")
		if i := strings.IndexByte(field, '['); i > 0 {
			field = field[:i]
		}
		opt := runOptionNames[field]
		if opt == "" {
			opt = in.Option
		}
		return badOption(opt, "", "%s", in.Msg)
	}
	var un *applecontainer.UnsupportedError
	if errors.As(err, &un) {
		if opt, ok := featureOptions[un.Feature]; ok {
			return badOption(opt, "", "needs Apple container %s or newer (this node has %s); upgrade the CLI or remove the option", un.Need, un.Have)
		}
		return fmt.Errorf("%w: %v; upgrade Apple's container CLI on this node or remove the option", ErrBadConfig, un)
	}
	return err
}

// featureOptions names the task option behind each version-gated CLI
// feature.
var featureOptions = map[applecontainer.Feature]string{
	applecontainer.FeatureNetwork: "network_mode", applecontainer.FeatureNetworkNone: "network_mode",
	applecontainer.FeaturePublish: "ports", applecontainer.FeatureVirtualization: "virtualization",
	applecontainer.FeaturePlatform: "platform", applecontainer.FeatureSSH: "ssh_agent",
	applecontainer.FeatureRosetta: "rosetta", applecontainer.FeatureReadOnly: "readonly_rootfs",
	applecontainer.FeatureInit: "init", applecontainer.FeatureCapabilities: "cap_add/cap_drop",
}

// createContainer runs `container create`, with the environment in a
// private file removed right after.
func createContainer(ctx context.Context, client *applecontainer.Client, s *taskSettings, stateDir string) (string, error) {
	envFile := filepath.Join(stateDir, envFileName)
	var b strings.Builder
	for _, kv := range s.Env {
		b.WriteString(kv)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(envFile, []byte(b.String()), 0o600); err != nil {
		return "", fmt.Errorf("writing the container's environment file: %w", err)
	}
	defer os.Remove(envFile)
	o := s.Run
	o.EnvFiles = []string{envFile}
	cctx, cancel := context.WithTimeout(ctx, startWait)
	defer cancel()
	id, err := client.Create(cctx, o)
	if err != nil {
		return "", explainCLI("creating the container", err)
	}
	return id, nil
}

// waitRunning returns once the container runs, or its attached start has
// ended (a quick batch task: WaitTask reports it). A failure of the CLI
// itself before that is a start error.
func waitRunning(ctx context.Context, client *applecontainer.Client, st *TaskState) error {
	deadline := time.Now().Add(startWait)
	for {
		if e, err := supervisor.ReadExit(st.StateDir); err == nil {
			if e.Err != "" {
				return fmt.Errorf("%w: %s (see %s)", ErrStartFailed, e.Err, supervisor.LogPath(st.StateDir))
			}
			if cliErr := applecontainer.ExecFailure(st.StartArgs, e.ExitCode, e.StderrTail); cliErr != nil {
				what := "starting the container"
				if strings.Contains(cliErr.Error(), "target executable") {
					what += " (the command or entrypoint is not in the image)"
				}
				return explainCLI(what, fmt.Errorf("%w: %w", ErrStartFailed, cliErr))
			}
			return nil
		}
		ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
		c, err := client.Inspect(ictx, st.ContainerID)
		cancel()
		if err == nil && c.State == applecontainer.StateRunning {
			return nil
		}
		if !supervisor.Alive(st.StateDir) {
			if _, err := supervisor.ReadExit(st.StateDir); err == nil {
				continue // it ended just now: read its outcome above
			}
			return fmt.Errorf("%w: the task supervisor died; see %s", ErrStartFailed, supervisor.LogPath(st.StateDir))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: container %s did not reach the running state within %s", ErrStartFailed, st.ContainerID, startWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(startPoll):
		}
	}
}

const startPoll = 10 * time.Millisecond

// removeStale deletes a container left under the task's name by an
// earlier run of the same task (gc.container = false keeps them, or a
// crash). A container of another task under that name (a hostname clash)
// is not ours to delete.
func (d *Driver) removeStale(ctx context.Context, client *applecontainer.Client, cfg *drivers.TaskConfig, name string) error {
	ictx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c, err := client.Inspect(ictx, name)
	if errors.Is(err, applecontainer.ErrNotFound) {
		return nil
	}
	if err != nil {
		return explainCLI("checking for an earlier container named "+name, err)
	}
	if c.Labels[labelAllocID] != cfg.AllocID || c.Labels[labelTaskName] != cfg.Name {
		return badOption("hostname", name, "a container with this ID already exists on this node (alloc %q, task %q); container IDs are host-wide and are the hostname in Apple container, so make the hostname unique, e.g. with ${NOMAD_ALLOC_INDEX} or ${NOMAD_SHORT_ALLOC_ID}",
			c.Labels[labelAllocID], c.Labels[labelTaskName])
	}
	if err := client.Delete(ictx, name, true); err != nil && !errors.Is(err, applecontainer.ErrNotFound) {
		return explainCLI("deleting the task's earlier container "+name, err)
	}
	return nil
}

// explainCLI adds what to do to the CLI errors users meet.
func explainCLI(what string, err error) error {
	switch {
	case errors.Is(err, applecontainer.ErrAPIServerDown):
		return structs.NewRecoverableError(fmt.Errorf("%s: the container API server is not running; run `container system start` as the Nomad client's user: %w", what, err), true)
	case errors.Is(err, applecontainer.ErrInvalidInput), errors.Is(err, applecontainer.ErrUsage):
		return fmt.Errorf("%w: %s: %w", ErrBadConfig, what, explainInput(err))
	case errors.Is(err, applecontainer.ErrAlreadyExists):
		return fmt.Errorf("%s: a container with this ID exists already (another Nomad client on this host?): %w", what, err)
	case errors.Is(err, applecontainer.ErrTimeout):
		return structs.NewRecoverableError(fmt.Errorf("%s: %w", what, err), true)
	}
	return fmt.Errorf("%s: %w", what, err)
}

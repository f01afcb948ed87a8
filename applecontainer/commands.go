package applecontainer

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
)

// SystemStatus runs `container system status` (--format json since
// 0.10.0). An apiserver that is not running is reported as Running=false,
// not as an error.
func (c *Client) SystemStatus(ctx context.Context) (SystemStatus, error) {
	v, err := c.Version(ctx)
	if err != nil {
		return SystemStatus{}, err
	}
	if err := CheckFeature(v, FeatureSystemStatus); err != nil {
		return SystemStatus{}, err
	}
	args := []string{"system", "status"}
	jsonOut := has(v, FeatureSystemStatusFormat)
	if jsonOut {
		args = append(args, "--format", "json")
	}
	res, runErr, startErr := c.exec(ctx, call{args: args})
	if startErr != nil {
		return SystemStatus{}, startErr
	}
	if ctx.Err() != nil && runErr != nil {
		return SystemStatus{}, c.failure(ctx, args, res.exitCode, res.stderr, runErr)
	}
	out := strings.TrimSpace(string(res.stdout))
	if jsonOut && strings.HasPrefix(out, "{") {
		st, perr := ParseSystemStatus(res.stdout)
		if perr != nil {
			return st, parseError(args, res, perr)
		}
		return st, nil
	}
	st := ParseSystemStatusText(out)
	if st.Status == "" {
		if runErr != nil {
			return st, c.failure(ctx, args, res.exitCode, res.stderr, runErr)
		}
		return st, parseError(args, res, errors.New("no status in "+quoteArg(out)))
	}
	return st, nil
}

// SystemVersion runs `container system version --format json` (0.8.0+):
// the CLI first, then the apiserver when it answered within 2 s.
func (c *Client) SystemVersion(ctx context.Context) ([]VersionInfo, error) {
	if err := c.require(ctx, FeatureSystemVersion); err != nil {
		return nil, err
	}
	args := []string{"system", "version", "--format", "json"}
	res, err := c.run(ctx, args)
	if err != nil {
		return nil, err
	}
	vs, perr := ParseSystemVersion(res.stdout)
	if perr != nil {
		return nil, parseError(args, res, perr)
	}
	return vs, nil
}

// Pull runs `container image pull --progress none [--platform p] <ref>`
// with the host's own registry credentials (the macOS keychain): see
// PullWithCredentials for per-call credentials.
func (c *Client) Pull(ctx context.Context, ref string, o PullOptions) error {
	v, err := c.Version(ctx)
	if err != nil {
		return err
	}
	args, err := PullArgs(ref, o, v)
	if err != nil {
		return err
	}
	_, err = c.run(ctx, args)
	return err
}

// ImageLoad runs `container image load --input <archive>` (an OCI
// image-layout tar; see docs/container-client.md for what is unverified).
func (c *Client) ImageLoad(ctx context.Context, archivePath string) error {
	if archivePath == "" {
		return inputf("archivePath", "no archive given")
	}
	_, err := c.run(ctx, []string{"image", "load", "--input", archivePath})
	return err
}

// ImageList runs `container image list --format json`.
func (c *Client) ImageList(ctx context.Context) ([]Image, error) {
	args := []string{"image", "list", "--format", "json"}
	res, err := c.run(ctx, args)
	if err != nil {
		return nil, err
	}
	imgs, perr := ParseImages(res.stdout)
	if perr != nil {
		return nil, parseError(args, res, perr)
	}
	return imgs, nil
}

// ImageInspect runs `container image inspect <ref>`; a missing image is
// ErrImageNotFound (which is also ErrNotFound).
func (c *Client) ImageInspect(ctx context.Context, ref string) (Image, error) {
	if err := checkImageRef(ref); err != nil || ref == "" {
		return Image{}, inputf("ref", "invalid image reference %q", ref)
	}
	args := []string{"image", "inspect", ref}
	res, err := c.run(ctx, args)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && errors.Is(err, ErrNotFound) {
			e.Kind = ErrImageNotFound
		}
		return Image{}, err
	}
	imgs, perr := ParseImages(res.stdout)
	if perr != nil {
		return Image{}, parseError(args, res, perr)
	}
	if len(imgs) == 0 { // pre-1.0 printed [] for a missing image
		return Image{}, &Error{Kind: ErrImageNotFound, Args: args, ExitCode: res.exitCode, Stderr: "image not found: " + ref}
	}
	return imgs[0], nil
}

// HasImage reports whether ref is in the local image store.
func (c *Client) HasImage(ctx context.Context, ref string) (bool, error) {
	_, err := c.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	}
	return false, err
}

// ImageDelete runs `container image delete [--force] <ref>`.
func (c *Client) ImageDelete(ctx context.Context, ref string, force bool) error {
	if err := checkImageRef(ref); err != nil || ref == "" {
		return inputf("ref", "invalid image reference %q", ref)
	}
	args := []string{"image", "delete"}
	if force {
		args = append(args, "--force")
	}
	_, err := c.run(ctx, append(args, ref))
	return err
}

// RunCommand returns an unstarted attached `container run` (never
// --detach): its exit status is the container process's, stdout/stderr are
// the process's (wire them; stdin only with Interactive). ctx is used for
// the version probe only: the command's lifetime is the caller's, and
// killing the CLI does not stop the container (use Stop/Kill/Delete).
func (c *Client) RunCommand(ctx context.Context, o RunOptions) (*exec.Cmd, error) {
	v, err := c.Version(ctx)
	if err != nil {
		return nil, err
	}
	args, err := RunArgs(o, v)
	if err != nil {
		return nil, err
	}
	return c.newCmd(args), nil
}

// Create runs `container create` and returns the container ID it prints.
func (c *Client) Create(ctx context.Context, o RunOptions) (string, error) {
	v, err := c.Version(ctx)
	if err != nil {
		return "", err
	}
	args, err := CreateArgs(o, v)
	if err != nil {
		return "", err
	}
	res, err := c.run(ctx, args)
	if err != nil {
		return "", err
	}
	id := lastLine(res.stdout)
	if id == "" {
		return "", parseError(args, res, errors.New("create printed no container ID"))
	}
	return id, nil
}

// StartAttachedCommand returns an unstarted `container start --attach <id>`
// (exit status = the process's). An invalid id makes the CLI fail.
func (c *Client) StartAttachedCommand(id string) *exec.Cmd {
	return c.newCmd([]string{"start", "--attach", id})
}

// Start runs `container start <id>` (detached start; the exit code of the
// process is then unobtainable).
func (c *Client) Start(ctx context.Context, id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	_, err := c.run(ctx, []string{"start", id})
	return err
}

// Stop runs `container stop`; stopping a stopped container succeeds.
func (c *Client) Stop(ctx context.Context, id string, o StopOptions) error {
	args, err := StopArgs(id, o)
	if err != nil {
		return err
	}
	_, err = c.run(ctx, args)
	return err
}

// Kill runs `container kill [--signal s] <id>` ("" = KILL). A stopped
// container is ErrNotRunning.
func (c *Client) Kill(ctx context.Context, id, signal string) error {
	args, err := KillArgs(id, signal)
	if err != nil {
		return err
	}
	_, err = c.run(ctx, args)
	return err
}

// Delete runs `container delete [--force] <id>`; an unknown ID is
// ErrNotFound, a running one without force ErrRunning.
func (c *Client) Delete(ctx context.Context, id string, force bool) error {
	args, err := DeleteArgs(id, force)
	if err != nil {
		return err
	}
	_, err = c.run(ctx, args)
	return err
}

// List runs `container list [--all] --format json`. (Before 0.10.0 the CLI
// ignored the running-only filter for JSON; it is applied here then.)
func (c *Client) List(ctx context.Context, all bool) ([]Container, error) {
	args := ListArgs(all)
	res, err := c.run(ctx, args)
	if err != nil {
		return nil, err
	}
	cs, perr := ParseContainers(res.stdout)
	if perr != nil {
		return nil, parseError(args, res, perr)
	}
	if !all {
		if v, verr := c.Version(ctx); verr == nil && !has(v, FeatureStopUnknownError) {
			running := cs[:0]
			for _, ct := range cs {
				if ct.State == StateRunning {
					running = append(running, ct)
				}
			}
			cs = running
		}
	}
	return cs, nil
}

// Inspect runs `container inspect <id>`. A missing container is
// ErrNotFound (1.0.0+ errors; before, the CLI printed []).
func (c *Client) Inspect(ctx context.Context, id string) (Container, error) {
	args, err := InspectArgs(id)
	if err != nil {
		return Container{}, err
	}
	res, err := c.run(ctx, args)
	if err != nil {
		return Container{}, err
	}
	cs, perr := ParseContainers(res.stdout)
	if perr != nil {
		return Container{}, parseError(args, res, perr)
	}
	for _, ct := range cs {
		if ct.ID == id {
			return ct, nil
		}
	}
	return Container{}, &Error{Kind: ErrNotFound, Args: args, ExitCode: res.exitCode, Stderr: "container not found: " + id}
}

// LogsCommand returns an unstarted `container logs` (stdout and stderr of
// the container merged, as stored). With Follow it never ends by itself:
// the caller stops it. An invalid id makes the CLI fail.
func (c *Client) LogsCommand(id string, o LogsOptions) *exec.Cmd {
	args, err := LogsArgs(id, o)
	if err != nil {
		args = []string{"logs", id} // let the CLI report it, as for StartAttachedCommand
	}
	return c.newCmd(args)
}

// ExecCommand returns an unstarted attached `container exec`. Use
// ExecFailure on its exit status and stderr to tell the CLI's own failures
// from the process's exit code.
func (c *Client) ExecCommand(id string, argv []string, o ExecOptions) (*exec.Cmd, error) {
	args, err := ExecArgs(id, argv, o)
	if err != nil {
		return nil, err
	}
	return c.newCmd(args), nil
}

// Exec runs a command in a running container and returns its exit code.
// Failures of the CLI itself (not running, not found, apiserver down) are
// errors; a non-zero exit of the process is not.
func (c *Client) Exec(ctx context.Context, id string, argv []string, o ExecOptions, stdout, stderr io.Writer) (int, error) {
	args, err := ExecArgs(id, argv, o)
	if err != nil {
		return -1, err
	}
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	res, runErr, startErr := c.exec(ctx, call{args: args, stdout: stdout, stderr: stderr})
	if startErr != nil {
		return -1, startErr
	}
	if ctx.Err() != nil && runErr != nil {
		return -1, c.failure(ctx, args, res.exitCode, res.stderr, runErr)
	}
	if err := ExecFailure(args, res.exitCode, res.stderr); err != nil {
		return -1, err
	}
	if runErr != nil && res.exitCode < 0 {
		return -1, c.failure(ctx, args, res.exitCode, res.stderr, runErr)
	}
	return res.exitCode, nil
}

// ExecFailure tells the CLI's own failure from the process's exit code for
// a finished attached command (exec, run, start --attach): a classified
// *Error, or nil when code is the process's.
func ExecFailure(args []string, code int, stderr string) error {
	cl, ok := cliFailure(code, stderr)
	if !ok {
		return nil
	}
	return &Error{Kind: cl.kind, Args: RedactArgs(args), ExitCode: code, Stderr: cl.line}
}

// Stats runs `container stats --no-stream --format json [ids...]` (0.7.0+).
// It takes at least 2 s (two samples); stopped containers are skipped.
func (c *Client) Stats(ctx context.Context, ids ...string) ([]Stats, error) {
	args, err := StatsArgs(ids...)
	if err != nil {
		return nil, err
	}
	if err := c.require(ctx, FeatureStats); err != nil {
		return nil, err
	}
	res, err := c.run(ctx, args)
	if err != nil {
		return nil, err
	}
	st, perr := ParseStats(res.stdout)
	if perr != nil {
		return nil, parseError(args, res, perr)
	}
	return st, nil
}

// NetworkList runs `container network list --format json` (macOS 26; on 15
// the command does not exist: ErrUnsupported).
func (c *Client) NetworkList(ctx context.Context) ([]Network, error) {
	args := []string{"network", "list", "--format", "json"}
	res, err := c.run(ctx, args)
	if err != nil {
		return nil, err
	}
	ns, perr := ParseNetworks(res.stdout)
	if perr != nil {
		return nil, parseError(args, res, perr)
	}
	return ns, nil
}

// require checks features against the detected version.
func (c *Client) require(ctx context.Context, fs ...Feature) error {
	v, err := c.Version(ctx)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if err := CheckFeature(v, f); err != nil {
			return err
		}
	}
	return nil
}

// lastLine is the last non-blank line of out.
func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

package containersim

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

func cmdExec(e *env, p *parsed) error {
	id := p.args[0]
	argv := p.args[1:]
	c, err := e.load(id)
	if err != nil {
		return failf("get failed: container %s not found", id)
	}
	if c.State() != stateRunning {
		return failf("container %s is not running", id)
	}
	if len(argv) == 0 {
		return failf("no command specified for exec")
	}
	if e.knobSet("CONTAINER_SIM_EXEC_FAIL") {
		return failf("%s", czDescRaw(codeInternal, "failed to start process in container "+id)+
			` (cause: "`+czDescRaw(codeInterrupted, "vminitd connection lost (CONTAINER_SIM_EXEC_FAIL)")+`")`)
	}
	args := []string{"--root", e.runcRoot(), "exec"}
	if p.flag("tty") {
		args = append(args, "--tty")
	}
	detach := p.flag("detach")
	if detach {
		args = append(args, "--detach")
	}
	envs, err := e.processEnv(p)
	if err != nil {
		return err
	}
	for _, kv := range envs {
		args = append(args, "--env", kv)
	}
	if w := p.str("workdir", ""); w != "" {
		args = append(args, "--cwd", w)
	}
	user := p.str("user", "")
	if user == "" && (p.has("uid") || p.has("gid")) {
		uid := strconv.FormatInt(p.int("uid", int64(c.Opts.UID)), 10)
		gid := strconv.FormatInt(p.int("gid", int64(c.Opts.GID)), 10)
		user = uid + ":" + gid
	}
	if user != "" {
		uid, gid, groups, err := resolveUser(c.Opts.Rootfs, user)
		if err != nil {
			return err
		}
		args = append(args, "--user", fmt.Sprintf("%d:%d", uid, gid))
		for _, g := range groups {
			args = append(args, "--additional-gids", strconv.Itoa(int(g)))
		}
	}
	args = append(args, id)
	args = append(args, argv...)
	cmd := stdioCmd(e, runcBinary(e), args...)
	cmd.Env = runcEnv()
	if !p.flag("interactive") {
		cmd.Stdin = nil
	}
	if detach {
		// runc's complaints go to a file, not a pipe: the detached process
		// inherits runc's stdio and would hold a pipe open for its lifetime.
		errf, err := os.CreateTemp("", "container-sim-exec-")
		if err != nil {
			return err
		}
		defer os.Remove(errf.Name())
		defer errf.Close()
		cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, errf
		if err := cmd.Run(); err != nil {
			out, _ := os.ReadFile(errf.Name())
			return failf("%s", czDescRaw(codeInternal, "failed to start process in container "+id)+` (cause: "`+strings.TrimSpace(string(out))+`")`)
		}
		fmt.Fprintln(e.stdout, id)
		return nil
	}
	// Without -t, runc relays the process's output through its own pipes
	// and exits only when every holder has closed them (a background
	// process keeps exec attached; documented in docs/container-sim.md).
	if p.flag("tty") && !e.stdinIsTerminal() {
		err = e.runOnPTY(cmd, p.flag("interactive"))
	} else {
		err = cmd.Run()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code := ee.ExitCode()
		if code < 0 {
			code = 255
		}
		return &exitCode{code}
	}
	if err != nil {
		return failf("%v", err)
	}
	return nil
}

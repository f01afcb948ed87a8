package guestsim

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// loginShell is the image user's login shell, as sshd runs it for every
// session: zsh on macOS images (the Cirrus Labs images' admin user), bash
// on the Linux images. A host without that shell falls back to /bin/sh
// (.ci/run installs zsh, so the checks always run the real one).
func loginShell(guestOS string) string {
	want := "/bin/zsh"
	if guestOS == "linux" {
		want = "/bin/bash"
	}
	if isExecutable(want) {
		return want
	}
	return "/bin/sh"
}

// guestPath is the PATH guest commands start with: the macOS default plus
// Homebrew (as the Cirrus Labs images set it), then the usual Linux dirs.
const guestPath = "/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"

// ptySpec is what the client asked for in pty-req / tty exec.
type ptySpec struct {
	Term       string
	Cols, Rows uint16
}

// commandSpec is a fully resolved guest command: built declaratively from
// the request, so it can be unit-tested without starting anything.
type commandSpec struct {
	Path string   // executable
	Args []string // argv, Args[0] included (may be "-sh" for a login shell)
	Env  []string
	Dir  string
}

// sessionEnv is what sshd and the agent give every command: the user's
// identity and home, never anything from the simulator's own environment.
func sessionEnv(cfg Config, pty *ptySpec, extra ...string) []string {
	env := []string{
		"HOME=" + cfg.HomeDir,
		"USER=" + cfg.User,
		"LOGNAME=" + cfg.User,
		"SHELL=" + loginShell(cfg.OS),
		"PATH=" + guestPath,
	}
	if pty != nil && pty.Term != "" {
		env = append(env, "TERM="+pty.Term)
	}
	return append(env, extra...)
}

// sshCommandSpec is how sshd runs a session: `$SHELL -c <command>` for an
// exec request, a login shell ("-sh") for a shell request (command == nil).
func sshCommandSpec(cfg Config, command *string, pty *ptySpec, extraEnv []string) commandSpec {
	shell := loginShell(cfg.OS)
	spec := commandSpec{Path: shell, Env: sessionEnv(cfg, pty, extraEnv...), Dir: cfg.HomeDir}
	if command == nil {
		spec.Args = []string{"-" + filepath.Base(shell)}
	} else {
		spec.Args = []string{filepath.Base(shell), "-c", *command}
	}
	return spec
}

// errEmptyArgv is returned for an agent exec request without a command.
var errEmptyArgv = errors.New("guestsim: empty command: give the program to run")

// agentCommandSpec is how the guest agent runs argv: directly, no shell, the
// program looked up in the guest PATH (not the simulator's).
func agentCommandSpec(cfg Config, argv []string, pty *ptySpec) (commandSpec, error) {
	if len(argv) == 0 || argv[0] == "" {
		return commandSpec{}, errEmptyArgv
	}
	env := sessionEnv(cfg, pty)
	path, err := lookPathIn(argv[0], guestPath, cfg.HomeDir)
	if err != nil {
		return commandSpec{}, err
	}
	return commandSpec{Path: path, Args: append([]string(nil), argv...), Env: env, Dir: cfg.HomeDir}, nil
}

// errNotFound mirrors os/exec's message so users see a familiar error.
type notFoundError struct{ Name string }

func (e *notFoundError) Error() string {
	return "exec: \"" + e.Name + "\": executable file not found in $PATH"
}

// lookPathIn finds name like execvp would with the given PATH; a name with a
// slash is taken relative to dir.
func lookPathIn(name, pathList, dir string) (string, error) {
	if strings.Contains(name, "/") {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if isExecutable(p) {
			return p, nil
		}
		return "", &fs.PathError{Op: "exec", Path: name, Err: fs.ErrNotExist}
	}
	for _, d := range filepath.SplitList(pathList) {
		if d == "" {
			continue
		}
		if p := filepath.Join(d, name); isExecutable(p) {
			return p, nil
		}
	}
	return "", &notFoundError{Name: name}
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode().Perm()&0o111 != 0
}

package tartsim

import (
	"errors"
	"fmt"
)

// Exit codes of tart (tart-cli.md §1.4).
const (
	exitOK      = 0
	exitFailure = 1
	exitRuntime = 2  // VMDoesNotExist, VMNotRunning, VMAlreadyRunning
	exitUsage   = 64 // EX_USAGE: parse and validation errors
)

// usageError is an ArgumentParser ValidationError: "Error: <msg>", usage block, exit 64.
// cmd nil means the root usage block ("tart <subcommand>").
type usageError struct {
	cmd *command
	msg string
}

func (e *usageError) Error() string { return e.msg }

func (c *command) usageErr(msg string) error { return &usageError{cmd: c, msg: msg} }

func rootUsageErr(msg string) error { return &usageError{msg: msg} }

// runtimeError is tart's RuntimeError: printed without prefix.
type runtimeError struct {
	code int
	msg  string
}

func (e *runtimeError) Error() string { return e.msg }

// failure is any other Swift error: "Error: <msg>", exit 1.
type failure struct{ msg string }

func (e *failure) Error() string { return e.msg }

// exitCode ends the command with a code and no message (tart exec's guest code).
type exitCode struct{ code int }

func (e *exitCode) Error() string { return fmt.Sprintf("exit %d", e.code) }

func vmDoesNotExist(name string) error {
	return &runtimeError{exitRuntime, fmt.Sprintf("the specified VM \"%s\" does not exist", name)}
}

func vmNotRunning(name string) error {
	return &runtimeError{exitRuntime, fmt.Sprintf("VM \"%s\" is not running", name)}
}

func vmIsRunning(name string) error {
	return &runtimeError{exitFailure, fmt.Sprintf("VM \"%s\" is running", name)}
}

func vmAlreadyRunning(name string) error {
	return &runtimeError{exitRuntime, fmt.Sprintf("VM \"%s\" is already running!", name)}
}

func failf(format string, args ...any) error { return &failure{fmt.Sprintf(format, args...)} }

func runtimeFailf(format string, args ...any) error {
	return &runtimeError{exitFailure, fmt.Sprintf(format, args...)}
}

// asValidate wraps an error thrown in a command's validate(): ArgumentParser
// prints non-ValidationErrors as "Error: <desc>" without usage and exits 1.
func asValidate(err error) error {
	var re *runtimeError
	if errors.As(err, &re) {
		return &failure{re.msg}
	}
	return err
}

// report prints err the way tart does and returns the process exit code.
func (e *env) report(err error) int {
	var (
		ue *usageError
		re *runtimeError
		fe *failure
		ec *exitCode
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ec):
		return ec.code
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "Error: %s\n", ue.msg)
		if ue.cmd != nil {
			fmt.Fprintf(e.stderr, "Usage: tart %s %s\n  See 'tart %s --help' for more information.\n",
				ue.cmd.Name, ue.cmd.Usage, ue.cmd.Name)
		} else {
			fmt.Fprintf(e.stderr, "Usage: tart <subcommand>\n  See 'tart --help' for more information.\n")
		}
		return exitUsage
	case errors.As(err, &re):
		fmt.Fprintln(e.stderr, re.msg)
		return re.code
	case errors.As(err, &fe):
		fmt.Fprintf(e.stderr, "Error: %s\n", fe.msg)
		return exitFailure
	default:
		fmt.Fprintf(e.stderr, "Error: %s\n", err)
		return exitFailure
	}
}

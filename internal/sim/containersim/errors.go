package containersim

import (
	"errors"
	"fmt"
	"strings"
)

// Exit codes of the container CLI (apple-container-cli.md §2.2).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 64 // EX_USAGE: argument parsing and ValidationError
)

// usageError is an ArgumentParser parse or validation error: "Error: <msg>",
// the command's usage block, exit 64.
type usageError struct {
	cmd *command // nil: root usage
	msg string
}

func (e *usageError) Error() string { return e.msg }

func (c *command) usageErr(msg string) error { return &usageError{cmd: c, msg: msg} }

// failure is any other error the CLI prints as "Error: <msg>" with exit 1.
type failure struct{ msg string }

func (e *failure) Error() string { return e.msg }

func failf(format string, args ...any) error { return &failure{fmt.Sprintf(format, args...)} }

// exitCode ends the command with a code and no message (attached run/exec).
type exitCode struct{ code int }

func (e *exitCode) Error() string { return fmt.Sprintf("exit %d", e.code) }

// stdoutFailure prints its message on stdout and exits 1 (`system status`).
type stdoutFailure struct{ msg string }

func (e *stdoutFailure) Error() string { return e.msg }

// Codes of ContainerizationError as printed in descriptions (§2.1).
const (
	codeInternal     = "internalError"
	codeNotFound     = "notFound"
	codeInvalidState = "invalidState"
	codeInterrupted  = "interrupted"
	codeInvalidArg   = "invalidArgument"
	codeExists       = "exists"
)

// czDescRaw renders a ContainerizationError description, `<code>: "<message>"`
// (Swift does not escape inner quotes).
func czDescRaw(code, msg string) string { return code + `: "` + msg + `"` }

// aggregateFailure is what stop/kill/delete print for a failed ID:
// internalError: "failed to <verb> container" (cause: "<cause>").
func aggregateCause(verb, cause string) string {
	return czDescRaw(codeInternal, "failed to "+verb+" container") + ` (cause: "` + cause + `")`
}

func notFoundCause(id string) string {
	return czDescRaw(codeNotFound, "container with ID "+id+" not found")
}

// xpcHint is the line the CLI appends to any error about the XPC connection.
const xpcHint = "Ensure container system service has been started with `container system start`."

const xpcInvalid = `interrupted: "XPC connection error: Connection invalid"`

// apiserverDown is the error of a command run before `container system start`.
// listFirst commands wrap it in their own request error (§13).
type apiserverDown struct{ wrap string }

func (e *apiserverDown) Error() string {
	if e.wrap == "" {
		return xpcInvalid
	}
	return czDescRaw(codeInternal, e.wrap) + ` (cause: "` + xpcInvalid + `")`
}

// ErrAPIServerDown matches every apiserverDown error.
var ErrAPIServerDown = errors.New("apiserver is not running")

func (e *apiserverDown) Is(target error) bool { return target == ErrAPIServerDown }

// report prints err the way the container CLI does and returns the exit code.
func (e *env) report(err error) int {
	var (
		ue *usageError
		ec *exitCode
		so *stdoutFailure
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ec):
		return ec.code
	case errors.As(err, &so):
		fmt.Fprintln(e.stdout, so.msg)
		return exitFailure
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "Error: %s\n", ue.msg)
		if ue.cmd != nil {
			path := ue.cmd.path()
			fmt.Fprintf(e.stderr, "Usage: container %s %s\n  See 'container %s --help' for more information.\n",
				path, ue.cmd.usage(), path)
		} else {
			fmt.Fprintf(e.stderr, "Usage: container <subcommand>\n  See 'container --help' for more information.\n")
		}
		return exitUsage
	}
	msg := err.Error()
	fmt.Fprintf(e.stderr, "Error: %s\n", msg)
	if strings.Contains(msg, "XPC connection error") {
		fmt.Fprintln(e.stderr, xpcHint)
	}
	return exitFailure
}

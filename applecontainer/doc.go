// Package applecontainer is a typed client for Apple's `container` CLI
// (github.com/apple/container), driven as a subprocess.
//
// Behaviour it relies on is described in the project's reference of the CLI
// (apple-container-cli.md); docs/container-client.md covers what this package
// adds: argument validation, version gates, error classes, the polymorphic
// JSON parsing of pre-1.0 and 1.x output, and keychain-free pulls.
//
// Every call takes a context; cancelling it kills the child's whole process
// group. Long-lived attached commands (run, start --attach, logs -f, exec)
// are returned unstarted as *exec.Cmd for the caller to wire and supervise.
package applecontainer

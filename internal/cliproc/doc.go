// Package cliproc holds the plumbing that the CLI clients tart and
// applecontainer share for running a vendor binary as a child process:
// finding the binary ($PATH, then fallback paths), preparing a child in its
// own process group whose cancellation kills the whole group, a bounded
// head+tail buffer for its stderr, a single-flight cache of the
// `--version` probe, error-text formatting, and ordered pattern rules for
// classifying the child's stderr.
//
// It knows nothing about either CLI: each client keeps its own exported API
// and error types and wraps these pieces, so a change here changes both
// clients at once (which is the point) and must keep both test suites green.
package cliproc

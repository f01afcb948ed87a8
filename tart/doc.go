// Package tart is a typed client for the tart CLI (Apple Silicon VMs).
//
// Every method runs the tart binary as a child process and maps its output
// and exit status to Go values. The contract is docs/design.md ("tart") and
// the behaviour it relies on is described in tart-cli.md:
//
//   - argv is built declaratively (RunArgs, CloneArgs, ...) and validated so
//     bad input fails with an error wrapping ErrUsage before tart runs;
//   - `get`/`list` JSON is decoded by key, tolerating older schemas;
//   - failures are *Error values classified from exit code and stderr text
//     (errors.Is with ErrVMNotFound, ErrNotRunning, ...);
//   - registry credentials only reach tart through TART_REGISTRY_* in the
//     child's environment, never argv or logs; CI=1 is always set so progress
//     arrives as plain lines;
//   - features newer than the installed tart give *UnsupportedError before
//     tart runs;
//   - every call takes a context: cancelling it kills the child's process
//     group (except the detached `tart run`, see Run).
package tart

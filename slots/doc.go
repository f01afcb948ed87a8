// Package slots keeps host-wide limits on running VMs.
//
// Apple's Virtualization.framework runs at most two macOS guests per Mac, and
// the GitLab executor, the Nomad drivers and several runner processes share
// one host. They agree on the limit through lock files in one directory
// (DefaultDir, /var/tmp/tartan-slots): a slot is an exclusive flock(2) on
// <dir>/<kind>-<n>.lock. The kernel drops a flock when the last process that
// holds the open file goes away, so a crashed holder never leaves a stale
// slot behind.
//
// A Slot's File is meant for tart.RunOptions.ExtraFiles: `tart run` inherits
// the locked descriptor, the caller releases its own copy, and the slot then
// lives exactly as long as the VM process. See docs/slots.md.
package slots

// Package warm keeps suspended macOS VMs ("warm snapshots") so that a job
// or task resumes a guest in seconds instead of booting it (docs/warm-start.md).
//
// One snapshot exists per image digest × VM slot: the VM that holds slot N
// clones slot N's snapshot and runs it as is (no `tart set`, no MAC change:
// Virtualization.framework restores saved state only into the same
// configuration). Every snapshot is built with its own random MAC, so two
// VMs resumed in two slots at once never share a MAC, a DHCP lease or an IP
// (two clones of one shared snapshot would: tart keeps a suspended source's
// MAC, tart-cli.md §5.2).
//
// Snapshots are local tart VMs named Prefix+"<slot>-<key>" (`tart list`
// shows them together); a build runs under Prefix+"build-…" and only becomes
// usable when it is suspended, renamed and its metadata file is written, in
// that order, so a crash mid-build never leaves a snapshot that gets used.
// The key hashes everything that makes a saved state unusable or stale:
// image and digest, CPU, memory, disk size, the warm-up script and the
// names of the directory shares.
package warm

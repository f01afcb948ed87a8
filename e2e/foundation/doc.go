// Package foundation holds the cross-package integration tests and
// benchmarks of Tartan's foundation: the tart client (tart/), the guest
// transports (guest/) and the host VM slots (slots/), all driven against the
// tart simulator (cmd/tart-sim). There is no production code here.
package foundation

// Package driverkit holds the plumbing the Nomad task drivers tartdriver and
// containerdriver share where their logic really is the same: the plugin
// identity, task events, the node's compute for CPU accounting, the
// periodic emitters behind Fingerprint and TaskStats, WaitTask's result
// channel, the grace period before the leftover sweep, and the text of a
// configuration error. Each driver keeps its own exported API and error
// types; subpackage drivertest holds the shared test helpers.
package driverkit

// Package supervisor runs one Nomad task's guest command from a host process
// that outlives the driver plugin.
//
// Why: Nomad restarts a driver plugin after a crash, and a client restart
// replaces it too, but the workload must keep running and its output must
// neither be lost nor duplicated. The plugin therefore never runs the guest
// command itself. It re-executes its own binary as
// `<plugin> tart-supervisor` in a new session (setsid). The supervisor:
//
//   - takes an exclusive flock on <state>/supervisor.lock for its whole life
//     (the kernel drops it when the process dies, so liveness is a lock
//     probe, immune to PID reuse);
//   - reads its Spec as JSON from stdin (secrets never on a command line or
//     in an environment), then answers "ok" on stdout;
//   - connects to the guest (tart exec agent or SSH), runs the command with
//     the task's environment, writing stdout and stderr straight into
//     Nomad's log FIFOs (reopened if logmon restarts);
//   - forwards signals written as names ("TERM") to the <state>/signals FIFO;
//   - finally writes <state>/exit.json atomically and exits.
//
// A task without a command (the task is the VM) gets the same process in
// follow mode (Spec.Follow): it copies the VM's `tart run` output and the
// guest's serial console into the stdout FIFO until `tart run` ends, then
// writes exit.json, so VM output survives plugin restarts exactly once too.
//
// A new plugin instance only needs the state directory to reattach: it
// probes the lock, writes signals to the FIFO and reads exit.json.
package supervisor

// Package supervisor runs one Nomad task's workload from a host process
// that outlives the driver plugin. The Tart driver (nomad/tartdriver) and
// the Apple container driver (nomad/containerdriver) share it.
//
// Why: Nomad restarts a driver plugin after a crash, and a client restart
// replaces it too, but the workload must keep running, its output must
// neither be lost nor duplicated, and its exit status must still be known.
// The plugin therefore never runs the workload's process itself. It
// re-executes its own binary as `<plugin> <arg>` (Config.Arg; the Tart
// driver's is "tart-supervisor") in a new session (setsid). The supervisor:
//
//   - takes an exclusive flock on <state>/supervisor.lock for its whole life
//     (the kernel drops it when the process dies, so liveness is a lock
//     probe, immune to PID reuse);
//   - reads its Spec as JSON from stdin (secrets never on a command line or
//     in an environment), then answers "ok" on stdout;
//   - runs the workload, writing its stdout and stderr straight into
//     Nomad's log FIFOs (reopened if logmon restarts);
//   - forwards signals written as names ("TERM") to the <state>/signals FIFO;
//   - finally writes <state>/exit.json atomically and exits.
//
// Three modes:
//
//   - guest command (Tart): connects to the guest (tart exec agent or SSH)
//     and runs the command there;
//   - follow (Tart, Spec.Follow): a task without a command (the task is
//     the VM) gets the VM's `tart run` output and serial console copied
//     into its stdout FIFO until `tart run` ends;
//   - local (Spec.Local): a host command, e.g. the attached
//     `container start --attach <id>` whose exit status is the container's;
//     signals go through Config.Signal (`container kill -s`).
//
// A new plugin instance only needs the state directory to reattach: it
// probes the lock, writes signals to the FIFO and reads exit.json. Stop
// ends a supervisor with its whole session.
package supervisor

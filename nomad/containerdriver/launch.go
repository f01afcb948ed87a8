package containerdriver

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/tartanhq/tartan/applecontainer"
	"github.com/tartanhq/tartan/supervisor"
)

// supervisorArg makes the plugin binary a task supervisor:
// `nomad-driver-container container-supervisor`.
const supervisorArg = "container-supervisor"

// RunSupervisorIfRequested turns the current process into a task
// supervisor when it was started as one (see package supervisor). Call it
// first in main and in TestMain.
func RunSupervisorIfRequested() {
	supervisor.Main(supervisor.Config{Arg: supervisorArg, Signal: signalContainer})
}

// signalContainer is how a supervisor delivers a signal: `container kill
// -s`, because Apple's attached CLI does not forward signals reliably
// (apple-container-cli.md §8).
func signalContainer(ctx context.Context, l *supervisor.Local, sig string) error {
	if len(l.Argv) == 0 {
		return fmt.Errorf("no container CLI to signal %s with", l.Target)
	}
	c, err := applecontainer.New(applecontainer.Options{Binary: l.Argv[0], Env: l.Env})
	if err != nil {
		return err
	}
	return c.Kill(ctx, l.Target, "SIG"+strings.TrimPrefix(sig, "SIG"))
}

func (d *Driver) launchOptions() supervisor.LaunchOptions {
	return supervisor.LaunchOptions{Exe: d.selfExe, Arg: supervisorArg, Env: minimalEnv()}
}

// minimalEnv is the supervisor's own environment: nothing of the task (that
// travels on stdin) and just enough to run the CLI for signals.
func minimalEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "USER", "TMPDIR", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

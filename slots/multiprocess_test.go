package slots

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

// Several processes contend for 2 macOS slots; the shared log must never
// show more than 2 holders at once, and every round must get its turn.
func TestProcessesNeverExceedTheLimit(t *testing.T) {
	const procs, rounds = 6, 8
	dir := t.TempDir()
	logPath := filepath.Join(dir, "holds.log")
	must.NoError(t, os.WriteFile(logPath, nil, 0o644))

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var cmds []*exec.Cmd
	for range procs {
		cmd := exec.CommandContext(ctx, os.Args[0])
		cmd.Env = append(os.Environ(), helperEnv+"=contend", dirEnv+"="+filepath.Join(dir, "slots"),
			logEnv+"="+logPath, fmt.Sprintf("%s=%d", roundsEnv, rounds))
		cmd.Stderr = os.Stderr
		must.NoError(t, cmd.Start())
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		must.NoError(t, cmd.Wait(), must.Sprint("contender failed (or hit the 90 s bound)"))
	}
	b, err := os.ReadFile(logPath)
	must.NoError(t, err)
	peak, n := maxConcurrent(t, string(b))
	must.EqOp(t, procs*rounds, n)
	must.LessEq(t, 2, peak, must.Sprint("never more than the limit"))
	t.Logf("%d acquisitions by %d processes, peak %d concurrent holders", n, procs, peak)
}

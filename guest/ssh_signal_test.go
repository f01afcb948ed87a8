package guest

import (
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

func pemEncode(b *pem.Block) []byte { return pem.EncodeToMemory(b) }

// The kill(1) fallback works on its own, for servers that ignore SSH
// "signal" requests: it reaches the command through the recorded PID.
func TestKillFallbackReachesTheCommand(t *testing.T) {
	noLeaks(t)
	g := startGuest(t, nil)
	s := dial(t, g.ssh)
	p, err := buildPlan(Command{Script: "echo up; sleep 30"}, newPlanDir(g.ssh.GuestTempDir))
	must.NoError(t, err)
	defer s.cleanup(p)
	must.True(t, p.oneShot) // the wrapper goes on the line's stdin
	out := &syncBuffer{}
	type end struct {
		res Result
		err error
	}
	ended := make(chan end, 1)
	go func() {
		res, err := s.runLine(runCtx(t), p, Command{Stdout: out, Stdin: strings.NewReader(string(p.wrapper))})
		ended <- end{res, err}
	}()
	waitFor(t, "the command to start", 10*time.Second, func() bool { return out.String() != "" })
	s.killRemote(p, "TERM")
	select {
	case e := <-ended:
		must.NoError(t, e.err)
		must.Eq(t, Result{ExitCode: 143, Signal: "TERM"}, e.res)
	case <-time.After(10 * time.Second):
		t.Fatal("kill fallback did not end the command")
	}
}

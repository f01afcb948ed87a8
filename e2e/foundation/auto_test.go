package foundation

import (
	"bytes"
	"testing"
	"time"

	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/guest"
	"github.com/tartanhq/tartan/tart"
)

// Connect's auto mode: the guest agent when it answers, SSH otherwise; and
// a guest with neither gives ErrUnreachable at BootWait, not a hang.
func TestAutoModeChoosesTransport(t *testing.T) {
	cases := []struct {
		name  string
		knobs []string
		want  string // "agent", "ssh" or "" (unreachable)
	}{
		{"agent answers", nil, "agent"},
		{"image without agent", []string{"TART_SIM_NO_AGENT=1"}, "ssh"},
		{"no agent and sshd refuses", []string{"TART_SIM_NO_AGENT=1", "TART_SIM_SSH_REFUSE=1"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, c.knobs...)
			w.boot(linuxImage, "vm", tart.RunOptions{NoGraphics: true})
			start := time.Now()
			cfg := w.guestConfig("vm", guest.ModeAuto)
			cfg.BootWait = 3 * time.Second
			tr, err := guest.Connect(ctxFor(t, callTimeout), cfg)
			if c.want == "" {
				must.ErrorIs(t, err, guest.ErrUnreachable)
				must.Less(t, 30*time.Second, time.Since(start))
				return
			}
			must.NoError(t, err)
			defer tr.Close()
			switch tr.(type) {
			case *guest.Agent:
				must.EqOp(t, c.want, "agent")
			case *guest.SSH:
				must.EqOp(t, c.want, "ssh")
			default:
				t.Fatalf("unexpected transport %T", tr)
			}
			var out bytes.Buffer
			res, err := tr.Run(ctxFor(t, callTimeout), guest.Command{Argv: []string{"echo", "ok"}, Stdout: &out})
			must.NoError(t, err)
			must.EqOp(t, 0, res.ExitCode)
			must.EqOp(t, "ok\n", out.String())
		})
	}
}

package slots

import (
	"errors"
	"syscall"
	"testing"

	"github.com/shoenig/test/must"
)

// The contract that ties a slot to a VM: the child (`tart run` in
// production) inherits the locked file, the parent lets go of its copy, and
// the slot stays held exactly until the child dies.
func TestHandoffToChildKeepsSlotUntilChildDies(t *testing.T) {
	for _, how := range []string{"SIGKILL", "clean exit"} {
		t.Run(how, func(t *testing.T) {
			checkNoFDLeak(t)
			p := newPool(t, map[Kind]int{KindMacOS: 1})
			s, err := p.TryAcquire(KindMacOS, Holder{Owner: "gitlab job 9", VM: "vm-9"})
			must.NoError(t, err)

			child := startHolder(t, s.File())
			cmd := child.cmd
			must.NoError(t, s.SetPID(cmd.Process.Pid))
			must.NoError(t, s.Release())

			_, err = p.TryAcquire(KindMacOS, Holder{Owner: "next"})
			var busy *BusyError
			must.True(t, errors.As(err, &busy), must.Sprintf("slot must stay held by the child, got %v", err))
			must.Len(t, 1, busy.Holders)
			must.EqOp(t, cmd.Process.Pid, busy.Holders[0].PID)
			must.EqOp(t, "vm-9", busy.Holders[0].VM)

			if how == "SIGKILL" {
				must.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
				err = cmd.Wait()
				must.StrContains(t, err.Error(), "killed")
				child.done = true
			} else {
				must.NoError(t, child.finish())
			}

			next, err := p.TryAcquire(KindMacOS, Holder{Owner: "next"})
			must.NoError(t, err, must.Sprint("the kernel frees the slot when the child dies"))
			must.NoError(t, next.Release())
		})
	}
}

// Without ExtraFiles a child must not inherit the slot (the file is
// close-on-exec), or unrelated children would keep slots alive.
func TestSlotNotInheritedByOtherChildren(t *testing.T) {
	checkNoFDLeak(t)
	p := newPool(t, map[Kind]int{KindMacOS: 1})
	s, err := p.TryAcquire(KindMacOS, Holder{})
	must.NoError(t, err)
	startHolder(t, nil)
	must.NoError(t, s.Release())
	again, err := p.TryAcquire(KindMacOS, Holder{})
	must.NoError(t, err)
	must.NoError(t, again.Release())
}

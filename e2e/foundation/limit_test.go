package foundation

import (
	"errors"
	"fmt"
	"testing"

	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/tart"
)

// Apple's limit as the simulator models it: the third macOS VM fails with
// tart's own error, classified as ErrVMLimit, and the failed VM is not left
// running. Stopping one frees room for it.
func TestThirdMacOSVMHitsTartLimit(t *testing.T) {
	w := newWorld(t)
	for i := 1; i <= 3; i++ {
		w.clone(macImage, fmt.Sprintf("mac-%d", i))
	}
	w.mustRun("mac-1", tart.RunOptions{NoGraphics: true})
	w.mustRun("mac-2", tart.RunOptions{NoGraphics: true})

	_, err := w.run("mac-3", tart.RunOptions{NoGraphics: true})
	must.ErrorIs(t, err, tart.ErrVMLimit)
	var te *tart.Error
	must.True(t, errors.As(err, &te))
	must.StrContains(t, te.Stderr, "The number of VMs exceeds the system limit")
	must.EqOp(t, 1, te.ExitCode)
	must.StrContains(t, err.Error(), "mac-1", must.Sprint("the hint names the running VMs"))
	eventually(t, callTimeout, "mac-3 shows as stopped after the limit error", func() bool {
		return w.vmState("mac-3") == tart.StateStopped
	})

	must.NoError(t, w.client.Stop(ctxFor(t, callTimeout), "mac-1", 0))
	eventually(t, callTimeout, "mac-1 stopped", func() bool { return w.vmState("mac-1") == tart.StateStopped })
	w.mustRun("mac-3", tart.RunOptions{NoGraphics: true})
}

// Linux guests do not count toward the macOS limit, and are not limited
// among themselves.
func TestLinuxVMsAreNotLimited(t *testing.T) {
	w := newWorld(t)
	w.boot(macImage, "mac-1", tart.RunOptions{NoGraphics: true})
	w.boot(macImage, "mac-2", tart.RunOptions{NoGraphics: true})
	for i := 1; i <= 3; i++ {
		w.boot(linuxImage, fmt.Sprintf("linux-%d", i), tart.RunOptions{NoGraphics: true})
	}
	vms, err := w.client.List(ctxFor(t, callTimeout), tart.ListOptions{Source: "local"})
	must.NoError(t, err)
	running := 0
	for _, vm := range vms {
		if vm.State == tart.StateRunning {
			running++
		}
	}
	must.EqOp(t, 5, running)
}

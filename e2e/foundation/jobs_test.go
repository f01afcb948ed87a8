package foundation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/shoenig/test/must"
	"github.com/tartanhq/tartan/guest"
	"github.com/tartanhq/tartan/slots"
	"github.com/tartanhq/tartan/tart"
)

// Environment of a job helper process (the test binary re-executed).
const (
	jobEnv     = "TARTAN_E2E_JOB" // VM name; its presence selects helper mode
	jobTart    = "TARTAN_E2E_TART"
	jobHome    = "TARTAN_E2E_HOME"
	jobSlots   = "TARTAN_E2E_SLOTS"
	jobSSHPort = "TARTAN_E2E_SSH_PORT"
	jobTmp     = "TARTAN_E2E_GUEST_TMP"
)

// runJob is one "runner process": slot, clone, run with the slot handed
// over, one guest command, stop, delete. It exits 0 on success, 3 if tart
// refused the VM for the limit (what slots must prevent), 1 otherwise.
func runJob() int {
	name := os.Getenv(jobEnv)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fail := func(step string, err error) int {
		fmt.Fprintf(os.Stderr, "job %s: %s: %v\n", name, step, err)
		if errors.Is(err, tart.ErrVMLimit) {
			return 3
		}
		return 1
	}
	c, err := tart.New(tart.Options{Binary: os.Getenv(jobTart), Home: os.Getenv(jobHome), NoAutoPrune: true,
		Env: []string{"TART_SIM_SSH_PORT=" + os.Getenv(jobSSHPort), "TART_SIM_IP_DELAY=0s", "TART_SIM_SSH_DELAY=0s"}})
	if err != nil {
		return fail("client", err)
	}
	pool, err := slots.New(os.Getenv(jobSlots), nil)
	if err != nil {
		return fail("slots", err)
	}
	if err := c.Clone(ctx, macImage, name, tart.CloneOptions{}); err != nil {
		return fail("clone", err)
	}
	defer c.Delete(context.Background(), name)
	slot, err := pool.Acquire(ctx, slots.KindMacOS, slots.Holder{Owner: "job " + name, VM: name})
	if err != nil {
		return fail("slot", err)
	}
	h, err := c.Run(ctx, name, tart.RunOptions{NoGraphics: true, ExtraFiles: []*os.File{slot.File()}})
	if err != nil {
		slot.Release()
		return fail("run", err)
	}
	_ = slot.SetPID(h.PID)
	_ = slot.Release() // like a GitLab prepare stage exiting: the VM keeps the slot
	defer func() {
		_ = c.Stop(context.Background(), name, 5*time.Second)
		awaitExit(h, 30*time.Second)
	}()
	tr, err := guest.Connect(ctx, guest.Config{Mode: guest.ModeAgent, Tart: c, VM: name, BootWait: 30 * time.Second, GuestTempDir: os.Getenv(jobTmp)})
	if err != nil {
		return fail("connect", err)
	}
	defer tr.Close()
	var out bytes.Buffer
	res, err := tr.Run(ctx, guest.Command{Argv: []string{"echo", "job", name}, Stdout: &out})
	if err != nil || res.ExitCode != 0 || out.String() != "job "+name+"\n" {
		return fail("command", fmt.Errorf("%v %+v %q", err, res, out.String()))
	}
	return 0
}

// Several runner processes share one host: the slots keep them under tart's
// macOS limit, so none sees tart's limit error and all finish.
func TestConcurrentJobsStayUnderTheLimit(t *testing.T) {
	const jobs = 4
	w := newWorld(t)
	must.NoError(t, w.client.Pull(ctxFor(t, callTimeout), macImage, tart.PullOptions{}))
	slotDir := filepath.Join(t.TempDir(), "slots")
	ctx := ctxFor(t, 3*time.Minute)
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for i := range jobs {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), jobEnv+"=job-"+strconv.Itoa(i), jobTart+"="+w.client.Binary(),
			jobHome+"="+w.home, jobSlots+"="+slotDir, jobSSHPort+"="+strconv.Itoa(w.sshPort), jobTmp+"="+w.guestTmp)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		must.NoError(t, cmd.Start())
		cmds, outs = append(cmds, cmd), append(outs, &out)
	}
	for i, cmd := range cmds {
		err := cmd.Wait()
		code := cmd.ProcessState.ExitCode()
		must.NotEq(t, 3, code, must.Sprintf("job %d hit tart's VM limit despite the slots: %s", i, outs[i]))
		must.NoError(t, err, must.Sprintf("job %d: %s", i, outs[i]))
	}
}

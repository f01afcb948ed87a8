package containersim

import (
	"fmt"
	"syscall"
	"time"

	"github.com/tartanhq/tartan/internal/sim/ociimages"
)

// The hidden `sim` command: helpers for tests and demos.
func simCommand() *command {
	return &command{Name: "sim", Hidden: true, Abstract: "container-sim helpers (not in the real CLI)", Subs: []*command{
		{Name: "seed", Abstract: "Store the busybox test image under a reference (no registry needed)", Run: cmdSimSeed,
			Args: []positional{{Name: "reference", Optional: true}}},
		{Name: "fault", Abstract: "Inject a fault: die (the VM dies) or crash-runtime (the runtime process is killed)", Run: cmdSimFault,
			Args: []positional{{Name: "container-id"}, {Name: "fault"}}},
	}}
}

// DefaultSeedRef is what `container sim seed` stores without an argument.
const DefaultSeedRef = "docker.io/library/busybox:latest"

func cmdSimSeed(e *env, p *parsed) error {
	ref := DefaultSeedRef
	if len(p.args) > 0 {
		ref = p.args[0]
	}
	img, err := ociimages.SeedImage()
	if err != nil {
		return failf("container-sim: build the busybox image: %v", err)
	}
	s, err := e.imageStore()
	if err != nil {
		return err
	}
	stored, err := s.Add(img, ref)
	if err != nil {
		return failf("container-sim: store %s: %v", ref, err)
	}
	fmt.Fprintln(e.stdout, stored.Reference)
	return nil
}

func cmdSimFault(e *env, p *parsed) error {
	id, fault := p.args[0], p.args[1]
	c, err := e.load(id)
	if err != nil {
		return failf("get failed: container %s not found", id)
	}
	if !c.Alive {
		return failf("container %s is not running", id)
	}
	switch fault {
	case "die":
		return sendControl(c.Bundle, controlRequest{Op: "die"})
	case "crash-runtime":
		if c.Status.RuntimePID <= 0 {
			return failf("container-sim: no runtime pid recorded for %s", id)
		}
		if err := syscall.Kill(c.Status.RuntimePID, syscall.SIGKILL); err != nil {
			return failf("container-sim: kill runtime %d: %v", c.Status.RuntimePID, err)
		}
		// Wait (bounded) until the lock is released so the next command sees the crash.
		for i := 0; i < 500 && runtimeAlive(c.Bundle); i++ {
			waitBriefly()
		}
		return nil
	}
	return failf("container-sim: unknown fault %q (want die or crash-runtime)", fault)
}

func waitBriefly() { time.Sleep(10 * time.Millisecond) }

package nomade2e

import (
	"fmt"
	"testing"
	"time"
)

// TestE2E_TartDeviceTwoClients: two Nomad clients on one machine (own
// data dirs, ports, TART_HOMEs and slot dirs), two macOS slots each. Four
// macOS jobs: once a client's slots are taken the scheduler places the
// rest on the client with free slots, two VMs per client; a fifth waits in
// a blocked evaluation.
func TestE2E_TartDeviceTwoClients(t *testing.T) {
	a := newDeviceAgentWith(t, agentOpts{device: true, name: "client-a"})
	a.start()
	b := newDeviceAgentWith(t, agentOpts{device: true, name: "client-b", server: a})
	b.start()

	perNode := map[string]int{}
	for i := 1; i <= 4; i++ {
		id := fmt.Sprintf("spread%d", i)
		a.runJob(macJob(id, true))
		al := a.waitAlloc(id, 90*time.Second, "running")
		perNode[al.NodeName]++
	}
	t.Logf("macOS VMs per client: %v", perNode)
	if perNode["client-a"] != 2 || perNode["client-b"] != 2 {
		t.Fatalf("want two macOS VMs per client, got %v", perNode)
	}
	if na, nb := len(vmsOf(t, a.agent, true)), len(vmsOf(t, b.agent, true)); na != 2 || nb != 2 {
		t.Fatalf("running VMs per client: %d and %d, want 2 and 2", na, nb)
	}
	a.runJob(macJob("spread5", true))
	if !poll(30*time.Second, func() bool { return blockedEval(t, a.agent, "spread5") }) {
		t.Fatalf("fifth job not blocked; allocs %v", allocsOf(t, a.agent, "spread5"))
	}
	if got := allocsOf(t, a.agent, "spread5"); len(got) != 0 {
		t.Fatalf("fifth macOS job placed with every slot taken: %v", got)
	}
	for i := 1; i <= 5; i++ {
		id := fmt.Sprintf("spread%d", i)
		if i < 5 && allocsOf(t, a.agent, id)["failed"] != 0 {
			t.Fatalf("%s has failed allocations", id)
		}
		purgeJob(t, a.agent, id)
	}
	waitNoVMs(t, a.agent)
	waitNoVMs(t, b.agent)
}

package tartdriver

import (
	"regexp"
	"testing"

	"github.com/hashicorp/nomad/helper/uuid"
	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/shoenig/test/must"
)

var tartLocalName = regexp.MustCompile(`^[a-z0-9-]+$`)

func TestVMName_ValidUniqueAndParseable(t *testing.T) {
	alloc := uuid.Generate()
	seen := map[string]string{}
	for _, task := range []string{"web", "Web", "web/1", "web_1", "web 1", "a-very-long-task-name-that-goes-on-and-on-and-on-forever", "a-very-long-task-name-that-goes-on-and-on-and-on-forever2", "---"} {
		n := vmName(alloc, task)
		must.RegexMatch(t, tartLocalName, n)
		must.True(t, len(n) < 100)
		if prev, dup := seen[n]; dup {
			t.Fatalf("tasks %q and %q share VM name %q", prev, task, n)
		}
		seen[n] = task
		id, ok := allocIDFromVMName(n)
		must.True(t, ok)
		must.Eq(t, alloc, id)
	}
	must.Eq(t, "nomad-"+alloc+"-web", vmName(alloc, "web"))
	must.Eq(t, vmName(alloc, "web"), vmName(alloc, "web"))
}

func TestAllocIDFromVMName_RejectsForeignNames(t *testing.T) {
	for _, n := range []string{"gitlab-123", "nomad-", "nomad-notanid-web", "macos-sequoia-base", "nomad-" + uuid.Generate()} {
		_, ok := allocIDFromVMName(n)
		must.False(t, ok, must.Sprint(n))
	}
}

func res(mhz int64, cores []uint16, mem, memMax int64) *drivers.Resources {
	return &drivers.Resources{NomadResources: &structs.AllocatedTaskResources{
		Cpu:    structs.AllocatedCpuResources{CpuShares: mhz, ReservedCores: cores},
		Memory: structs.AllocatedMemoryResources{MemoryMB: mem, MemoryMaxMB: memMax},
	}}
}

func TestSizeVM(t *testing.T) {
	cases := []struct {
		name          string
		cfgCPU, cfgMB int
		res           *drivers.Resources
		totalMHz      int64
		cores         int
		cpu, mem      int
	}{
		{"config wins", 3, 6000, res(9000, nil, 8000, 0), 24000, 8, 3, 6000},
		{"no resources keeps image", 0, 0, nil, 24000, 8, 0, 0},
		{"cores count", 0, 0, res(0, []uint16{0, 1, 2}, 4096, 0), 24000, 8, 3, 4096},
		{"mhz over believable clock", 0, 0, res(6000, nil, 4096, 8192), 24000, 8, 2, 8192},
		{"apple silicon 28 MHz fingerprint", 0, 0, res(6000, nil, 4096, 0), 8 * 28, 8, 2, 4096},
		{"tiny mhz gives one cpu", 0, 0, res(100, nil, 4096, 0), 24000, 8, 1, 4096},
		{"capped at host cores", 0, 0, res(100000, nil, 4096, 0), 24000, 8, 8, 4096},
		{"default 300 MB keeps image memory", 0, 0, res(100, nil, 300, 0), 24000, 8, 1, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := sizeVM(c.cfgCPU, c.cfgMB, c.res, c.totalMHz, c.cores)
			must.Eq(t, c.cpu, s.CPU)
			must.Eq(t, c.mem, s.MemoryMB)
		})
	}
}

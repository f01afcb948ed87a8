package tartdriver

import (
	"fmt"
	"math"

	"github.com/hashicorp/nomad/plugins/drivers"
)

const (
	// Apple Silicon clients have reported 20-28 MHz per core (nomad#18602,
	// #26138, #27863). Below this the fingerprint is not believed and a
	// nominal clock is used instead.
	minBelievableCoreMHz = 1000
	nominalCoreMHz       = 3000
	// Nomad gives tasks 300 MB by default; no macOS guest boots in that.
	// Below this floor the image's own memory size is kept.
	minGuestMemoryMB = 1024
)

// sizing is the VM size decided for a task; zero fields keep the image's.
type sizing struct {
	CPU, MemoryMB int
	Notes         []string // explanations worth a task event
}

// sizeVM picks vCPUs and memory: explicit config wins; otherwise the task's
// resources block is converted. cores reservations count directly; MHz are
// divided by the per-core clock (defensively, see above) and capped at the
// host's cores. Memory is max(memory, memory_max).
func sizeVM(cfgCPU, cfgMemMB int, res *drivers.Resources, totalMHz int64, hostCores int) sizing {
	var s sizing
	s.CPU, s.MemoryMB = cfgCPU, cfgMemMB
	if res == nil || res.NomadResources == nil {
		return s
	}
	nr := res.NomadResources
	if s.CPU == 0 {
		switch {
		case len(nr.Cpu.ReservedCores) > 0:
			s.CPU = len(nr.Cpu.ReservedCores)
		case nr.Cpu.CpuShares > 0:
			perCore := float64(nominalCoreMHz)
			if hostCores > 0 && totalMHz > 0 {
				if measured := float64(totalMHz) / float64(hostCores); measured >= minBelievableCoreMHz {
					perCore = measured
				}
			}
			s.CPU = int(math.Ceil(float64(nr.Cpu.CpuShares) / perCore))
		}
		if s.CPU < 1 && (len(nr.Cpu.ReservedCores) > 0 || nr.Cpu.CpuShares > 0) {
			s.CPU = 1
		}
		if hostCores > 0 && s.CPU > hostCores {
			s.Notes = append(s.Notes, fmt.Sprintf("cpu resources ask for %d vCPUs; capped at the host's %d cores", s.CPU, hostCores))
			s.CPU = hostCores
		}
	}
	if s.MemoryMB == 0 {
		mem := max(nr.Memory.MemoryMB, nr.Memory.MemoryMaxMB)
		if mem >= minGuestMemoryMB {
			s.MemoryMB = int(mem)
		} else if mem > 0 {
			s.Notes = append(s.Notes, fmt.Sprintf("memory resources of %d MB are below %d MB: keeping the image's memory size (set config.memory to choose)", mem, minGuestMemoryMB))
		}
	}
	return s
}

package gitlab

import "runtime"

// hostCPUs is the number of host cores (for cpu = auto).
func hostCPUs() int { return runtime.NumCPU() }

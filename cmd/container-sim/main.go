// Command container-sim is a Linux simulator of Apple's `container` CLI
// 1.2.2 for tests, benchmarks and demos (see docs/container-sim.md). Install
// it as "container" on PATH or pass its path to the applecontainer client.
package main

import (
	"os"

	"github.com/tartanhq/tartan/internal/sim/containersim"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "__runtime" {
		os.Exit(containersim.RuntimeMain(os.Args[2:])) // a container's runtime process
	}
	os.Exit(containersim.Main(os.Args[1:]))
}

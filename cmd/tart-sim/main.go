// Command tart-sim is a Linux simulator of the tart CLI for tests, benchmarks
// and demos (see docs/tart-sim.md). Install it as "tart" on PATH or pass its
// path to the tart client.
package main

import (
	"os"

	"github.com/tartanhq/tartan/internal/sim/guestsim"
	"github.com/tartanhq/tartan/internal/sim/tartsim"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "__guest" {
		guestsim.Main() // the simulated guest of a `tart run`; never returns
	}
	os.Exit(tartsim.Main(os.Args[1:]))
}

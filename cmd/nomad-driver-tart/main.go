// Command nomad-driver-tart is the Nomad task driver plugin for Tart VMs.
// Put it in the client's plugin_dir and reference it with
// plugin "nomad-driver-tart" { config { ... } }; jobs use driver = "tart".
package main

import (
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins"
	"github.com/tartanhq/tartan/nomad/tartdriver"
)

func main() {
	// The same binary is the per-task supervisor (see package supervisor).
	tartdriver.RunSupervisorIfRequested()
	plugins.Serve(func(logger hclog.Logger) interface{} { return tartdriver.NewDriver(logger) })
}

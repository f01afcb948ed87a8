// Command nomad-driver-container is the Nomad task driver plugin for Apple's
// `container` CLI. Put it in the client's plugin_dir and reference it with
// plugin "nomad-driver-container" { config { ... } }; jobs use
// driver = "container".
package main

import (
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins"
	"github.com/tartanhq/tartan/nomad/containerdriver"
)

func main() {
	// The same binary is the per-task supervisor (see package supervisor).
	containerdriver.RunSupervisorIfRequested()
	plugins.Serve(func(logger hclog.Logger) interface{} { return containerdriver.NewDriver(logger) })
}

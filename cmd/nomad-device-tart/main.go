// Command nomad-device-tart is the Nomad device plugin that offers a Mac's
// macOS VM slots to the scheduler (device "tartan/vm/macos-slot"). Put it
// in the client's plugin_dir next to the Tart driver and reference it with
// plugin "nomad-device-tart" { config { ... } }. See docs/nomad-tart.md.
package main

import (
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins"
	"github.com/tartanhq/tartan/nomad/tartdevice"
)

func main() {
	plugins.Serve(func(logger hclog.Logger) interface{} { return tartdevice.New(logger) })
}

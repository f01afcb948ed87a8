# The plugin part of a Mac client that schedules macOS VMs exactly
# (docs/nomad-tart.md 5.11). Merge it into agent-mac-client.hcl. plugin_dir
# holds both binaries: nomad-driver-tart and nomad-device-tart.
plugin_dir = "/opt/nomad/plugins"

plugin "nomad-driver-tart" {
  config {
    max_macos_vms = 2 # the same as macos_slots below
    # slots_dir   = "/var/tmp/tartan-slots"
  }
}

plugin "nomad-device-tart" {
  config {
    macos_slots   = 2                       # Apple allows two macOS guests per Mac
    slots_dir     = "/var/tmp/tartan-slots" # the driver's and the GitLab executor's
    poll_interval = "500ms"                 # how fast slot changes reach the scheduler (<= 1s)
    # tart_home   = "/Users/ci/.tart"       # as the driver's: VMs run by hand there count too
  }
}

# A macOS job for a Mac client that runs the nomad-device-tart device plugin
# (docs/nomad-tart.md 5.11): the device block makes Nomad's scheduler count
# the Mac's macOS VM slots, so a third macOS job waits (blocked evaluation)
# instead of failing on a full Mac. Without the block such a client refuses
# the task with a message naming it.
job "macos-slot" {
  datacenters = ["dc1"]
  type        = "batch"

  group "build" {
    task "xcodebuild" {
      driver = "tart"

      config {
        image   = "ghcr.io/cirruslabs/macos-sequoia-base:latest"
        command = "sw_vers && xcodebuild -version || true"
      }

      resources {
        cpu    = 1000
        memory = 8192

        device "tartan/vm/macos-slot" {
          count = 1
        }
      }
    }
  }
}

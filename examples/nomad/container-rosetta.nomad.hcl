# The earlier driver's Rosetta example, made to work: on Apple silicon an
# x86_64-only image needs its linux/amd64 variant selected (`platform`, an
# option this driver adds; the CLI's --platform), and `rosetta = true` runs
# its x86_64 binaries through Rosetta 2 (container 0.7.0+, arm64 Macs only).
# Memory: 512 MB, well above Apple's 200 MiB floor.
job "legacy-x86" {
  datacenters = ["dc1"]
  type        = "batch"

  group "legacy" {
    task "legacy-app" {
      driver = "container"

      config {
        image    = "docker.io/amd64/ubuntu:22.04"
        platform = "linux/amd64"
        rosetta  = true
        command  = "uname"
        args     = ["-m"]
      }

      resources {
        cpu    = 500
        memory = 512
      }
    }
  }
}

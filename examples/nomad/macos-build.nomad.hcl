# A CI-style macOS build: private image with per-task registry credentials
# from Nomad Variables, a host checkout shared read-only into the guest, and a
# command with arguments run without a shell through the guest agent
# (`tart exec`).
job "macos-build" {
  type = "batch"

  group "build" {
    task "xcodebuild" {
      driver = "tart"

      template {
        destination = "secrets/registry.env"
        env         = true
        data        = <<-EOT
          {{ with nomadVar "nomad/jobs/macos-build" }}
          REGISTRY_USER={{ .user }}
          REGISTRY_TOKEN={{ .token }}
          {{ end }}
        EOT
      }

      config {
        image       = "registry.example.com/ci/macos-xcode:16"
        pull_policy = "always"         # refresh the moving tag before each run
        image_pull_timeout = "45m"     # tens of GB on first pull

        auth {
          username = "${REGISTRY_USER}"
          password = "${REGISTRY_TOKEN}"
          server   = "registry.example.com"
        }

        command = "/usr/bin/xcodebuild"
        args    = ["-project", "/Volumes/My Shared Files/src/App.xcodeproj", "-scheme", "App", "build"]
        work_dir = "/Users/admin"

        dir_share {
          name    = "src"
          path    = "/Users/ci/checkouts/app"
          options = "ro"
        }

        root_disk_options = "caching=cached"
        guest_transport   = "agent"    # tart exec: no SSH password needed
        ready_timeout     = "10m"
      }

      resources {
        cpu    = 12000 # MHz, converted to vCPUs (see docs); or set config.cpu
        memory = 16384
      }
    }
  }
}

# Nomad client on an Apple Silicon Mac running the Tart driver.
# Install: copy bin/nomad-driver-tart into plugin_dir.
data_dir   = "/opt/nomad/data"
plugin_dir = "/opt/nomad/plugins"

client {
  enabled = true
  servers = ["nomad-server-1.example.com:4647"]
  meta {
    "tart.macos" = "true"
  }
}

# The label is the binary name; jobs say driver = "tart".
plugin "nomad-driver-tart" {
  config {
    tart_binary   = "/opt/homebrew/bin/tart"
    tart_home     = "/Users/ci/.tart"          # the user whose keychain is unlocked
    max_macos_vms = 2                          # Apple's licence limit, shared with the GitLab executor
    max_linux_vms = 4                          # every Tartan process on the Mac must use the same limits (GitLab: linux_limit)
    allowed_images = ["ghcr.io/cirruslabs/*", "registry.example.com/ci/*"]
    gc             = true
    image_pull_timeout = "45m"
    ssh_user     = "admin"
    ssh_password = "admin"                     # Cirrus Labs images; set "" to require per-task keys

    auth {                                     # default registry credentials
      username = "robot"
      password = "use-a-token-here"
      server   = "registry.example.com"
    }
  }
}

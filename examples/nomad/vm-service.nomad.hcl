# A long-running VM (no command: the task is the VM itself) with a Nomad
# port mapped to the guest. With Softnet isolation the port becomes a
# Softnet forward; with the default NAT network, register the service with
# address_mode = "driver" (the guest's own IP).
job "tart-vm-service" {
  group "vm" {
    network {
      port "ssh" {
        to = 22
      }
    }

    task "vm" {
      driver       = "tart"
      kill_timeout = "60s" # time for the guest OS to shut down cleanly

      config {
        image       = "ghcr.io/cirruslabs/macos-sequoia-base:latest"
        cpu         = 4
        memory      = 8192
        disk_size   = 80
        random_mac  = true
        net_softnet = true
        net_softnet_allow = "0.0.0.0/0"
      }

      service {
        name         = "macos-vm-ssh"
        port         = "ssh"
        address_mode = "driver"
        provider     = "nomad"
      }
    }
  }
}

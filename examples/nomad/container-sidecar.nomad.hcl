# The earlier driver's sidecar example (an exporter joining the Redis
# task's network with network_mode = "task:redis") cannot work with Apple's
# container CLI: every container is its own VM, and there is no way to
# share a network namespace (`--network` takes only networks). This is the
# same pattern without it: the app writes its metrics into the allocation
# directory, which every task of the group mounts at /alloc, and a
# poststart sidecar serves them on its own published port.
#
# On macOS 26 two containers can also talk over a named network
# (`container network create backend`, then network_mode = "backend" in
# both tasks) using each other's container ID as host name.
job "sidecar" {
  datacenters = ["dc1"]
  type        = "service"

  group "app" {
    network {
      port "metrics" {
        to = 9100
      }
    }

    task "app" {
      driver = "container"

      config {
        image   = "busybox:latest"
        command = "sh"
        args = ["-c", <<-EOT
          mkdir -p /alloc/metrics
          i=0
          while true; do
            echo "app_requests_total $i" > /alloc/metrics/.next
            mv /alloc/metrics/.next /alloc/metrics/index.html
            i=$((i+1))
            sleep 1
          done
        EOT
        ]
      }

      resources {
        cpu    = 100
        memory = 256
      }
    }

    task "exporter" {
      driver       = "container"
      kill_timeout = "3s"

      lifecycle {
        hook    = "poststart"
        sidecar = true
      }

      config {
        image   = "busybox:latest"
        command = "httpd"
        args    = ["-f", "-p", "9100", "-h", "/alloc/metrics"]
        ports   = ["metrics"]
      }

      resources {
        cpu    = 50
        memory = 200
      }
    }
  }
}

# The earlier community driver's "nginx" example, adapted to what Apple's
# container CLI really does (a busybox httpd stands in for nginx so it runs
# anywhere, including the Linux simulator):
#
# - the group's dynamic port "http" is published with `-p <host>:8080`;
# - memory is 256 MB: Apple's CLI refuses less than 200 MiB (the old
#   example's 128 fails there);
# - the page comes from a template in local/, mounted at /local;
# - labels land on the container next to the driver's own
#   com.hashicorp.nomad.* labels.
#
#   nomad job run examples/nomad/container-web.nomad.hcl
#   curl http://<client address>:<allocated port>/
job "web" {
  datacenters = ["dc1"]
  type        = "service"

  group "web" {
    network {
      port "http" {
        to = 8080
      }
    }

    task "httpd" {
      driver = "container"
      # busybox httpd as PID 1 has no TERM handler; do not wait long for it.
      kill_timeout = "3s"

      template {
        data        = "<h1>Hello from allocation {{ env \"NOMAD_ALLOC_ID\" }}</h1>\n"
        destination = "local/www/index.html"
      }

      config {
        image   = "busybox:latest"
        command = "httpd"
        args    = ["-f", "-v", "-p", "8080", "-h", "/local/www"]
        ports   = ["http"]
        init    = true

        labels = {
          app = "web"
        }
      }

      resources {
        cpu    = 200
        memory = 256
      }
    }
  }
}

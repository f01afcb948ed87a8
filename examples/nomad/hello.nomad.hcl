# A batch job that boots a VM, runs one command in it and is done.
# `make demo` runs this file. Try: nomad job run -var image=... hello.nomad.hcl
variable "image" {
  type    = string
  default = "ghcr.io/cirruslabs/ubuntu:latest"
}

job "tart-hello" {
  type = "batch"

  group "hello" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }

    task "hello" {
      driver = "tart"

      # Rendered into the task's secrets dir, which is shared into the guest.
      template {
        data        = "demo-secret-from-a-template\n"
        destination = "secrets/token"
      }

      env {
        GREETING = "hello from a Tart VM scheduled by Nomad"
      }

      config {
        image   = var.image
        command = <<-EOT
          echo "$GREETING"
          echo "guest: $(uname -srm)"
          echo "task dir in the guest: $NOMAD_TASK_DIR"
          echo "secret via the shared secrets dir: $(cat "$NOMAD_SECRETS_DIR/token")"
          echo "written by the guest" > "$NOMAD_ALLOC_DIR/from-guest.txt"
          echo "this line goes to stderr" >&2
        EOT
      }

      resources {
        cpu    = 2000
        memory = 4096
      }
    }
  }
}

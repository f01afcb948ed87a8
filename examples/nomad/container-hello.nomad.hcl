# A batch job on Apple's `container` CLI (driver "container", plugin binary
# nomad-driver-container): one container prints a greeting, a file Nomad
# rendered into the task's local/ directory (mounted at /local) and a line on
# stderr, then exits. Its exit code is the job's: change the last command to
# `exit 3` and the allocation fails with exit code 3.
#
#   nomad job run examples/nomad/container-hello.nomad.hcl
#   nomad alloc logs <alloc>            # stdout
#   nomad alloc logs -stderr <alloc>    # stderr, kept apart
job "container-hello" {
  datacenters = ["dc1"]
  type        = "batch"

  group "hello" {
    restart {
      attempts = 0
      mode     = "fail"
    }

    task "hello" {
      driver = "container"

      template {
        data        = "this file was rendered by Nomad for task {{ env \"NOMAD_TASK_NAME\" }}\n"
        destination = "local/greeting.txt"
      }

      config {
        image   = "busybox:latest"
        command = "sh"
        args    = ["-c", "echo Hello from container $(hostname); cat $NOMAD_TASK_DIR/greeting.txt; echo this line goes to stderr >&2"]
      }

      # Apple container gives every container its own VM and refuses less
      # than 200 MiB of memory.
      resources {
        cpu    = 100
        memory = 256
      }
    }
  }
}

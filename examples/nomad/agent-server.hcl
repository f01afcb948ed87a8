# A Nomad server (Linux or anywhere). Servers do not need the plugin: only
# the Mac clients run it.
data_dir  = "/opt/nomad/data"
bind_addr = "0.0.0.0"

server {
  enabled          = true
  bootstrap_expect = 3
}

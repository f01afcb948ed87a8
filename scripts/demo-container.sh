#!/usr/bin/env bash
# make demo-container: a Nomad dev agent with the Apple container driver runs
# examples/nomad/container-hello.nomad.hcl, shows its output (stdout and
# stderr apart, with the real exit code), and cleans up (job, agent,
# containers, simulator, temp dirs) on any exit.
# Uses Apple's `container` on a Mac where it is installed and its apiserver
# runs (`container system start`); container-sim otherwise (Linux, root).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
bin="$repo/bin"
nomad="${NOMAD_BINARY:-$bin/nomad}"
plugin="$bin/nomad-driver-container"
job_file="$repo/examples/nomad/container-hello.nomad.hcl"
job=container-hello
image="docker.io/library/busybox:latest"

. "$(dirname "$0")/nomad-demo-lib.sh"
die() { printf 'demo-container: %s\n' "$*" >&2; exit 1; }

for f in "$nomad" "$plugin"; do
	[ -x "$f" ] || die "$f is missing: run 'make demo-container' (it builds everything) or 'make build nomad'"
done

work="$(mktemp -d "${TMPDIR:-/tmp}/tartan-demo-container.XXXXXX")"
agent_pid=""
job_started=""
sim=0

if [ "$(uname -s)" = "Darwin" ] && command -v container >/dev/null 2>&1 && container system status >/dev/null 2>&1; then
	container_bin="$(command -v container)"
	say "Using Apple's container CLI: $container_bin ($("$container_bin" --version))"
	container_cmd() { "$container_bin" "$@"; }
	if ! container_cmd image inspect "$image" >/dev/null 2>&1; then
		say "Pulling $image"
		container_cmd image pull "$image" >/dev/null
	fi
else
	container_bin="$bin/container-sim"
	[ -x "$container_bin" ] || die "$container_bin is missing: run 'make build'"
	[ "$(id -u)" = 0 ] || die "container-sim runs containers with runc in their own namespaces: run as root"
	say "No usable Apple container CLI here (needs a Mac with \`container system start\` done): using the simulator $container_bin"
	export CONTAINER_APP_ROOT="$work/container-root"
	mkdir -p "$CONTAINER_APP_ROOT"
	container_cmd() { "$container_bin" "$@"; }
	container_cmd system start --enable-kernel-install >/dev/null 2>&1 || die "container system start failed"
	sim=1
	say "Seeding the busybox image into the simulator's image store"
	container_cmd sim seed "$image" | sed 's/^/    /'
fi

cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	if [ -n "$job_started" ] && [ -n "$agent_pid" ]; then
		say "Stopping the job"
		"$nomad" job stop -purge -yes "$job" >/dev/null 2>&1
	fi
	stop_agent "$agent_pid"
	# Only containers this demo's driver created are touched: with the
	# simulator its private app root holds nothing else; with the real CLI,
	# only IDs the agent log names.
	for id in $(container_cmd list --all --quiet 2>/dev/null || true); do
		if [ "$sim" = 0 ] && ! grep -q -- "$id" "$work/agent.log" 2>/dev/null; then continue; fi
		say "Removing leftover container $id"
		container_cmd delete --force "$id" >/dev/null 2>&1
	done
	if [ "$sim" = 1 ]; then
		container_cmd system stop >/dev/null 2>&1
	fi
	show_agent_log_tail "$rc" "$work/agent.log"
	rm -rf "$work"
	[ $rc -eq 0 ] && say "Done: agent stopped, container deleted, temp files removed"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

http_port=$(free_port 25646)
rpc_port=$(free_port $((http_port + 1)))
serf_port=$(free_port $((rpc_port + 1)))
export NOMAD_ADDR="http://127.0.0.1:$http_port"

mkdir -p "$work/plugins"
cp "$plugin" "$work/plugins/nomad-driver-container"
# The plugin block uses the earlier community driver's option names.
cat >"$work/agent.hcl" <<HCL
ports {
  http = $http_port
  rpc  = $rpc_port
  serf = $serf_port
}
client {
  options = {
    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean"
  }
}
plugin "nomad-driver-container" {
  config {
    container_path = "$container_bin"
    gc {
      container = true
    }
    extra_labels = ["job_name", "task_name"]
  }
}
HCL

say "Starting a Nomad dev agent ($("$nomad" version | head -n1)) on $NOMAD_ADDR"
"$nomad" agent -dev -plugin-dir="$work/plugins" -config="$work/agent.hcl" >"$work/agent.log" 2>&1 &
agent_pid=$!

say "Waiting for the node and the container driver to be healthy"
ok=""
for _ in $(seq 1 600); do
	kill -0 "$agent_pid" 2>/dev/null || die "the agent exited"
	if [ "$("$nomad" node status -self -t '{{with index .Drivers "container"}}{{.Healthy}}{{end}}' 2>/dev/null)" = "true" ]; then ok=1; break; fi
	sleep 0.1
done
[ -n "$ok" ] || die "the container driver did not become healthy within 60 s: $("$nomad" node status -self -t '{{with index .Drivers "container"}}{{.HealthDescription}}{{end}}' 2>/dev/null)"
"$nomad" node status -self -t '{{with index .Drivers "container"}}{{range $k, $v := .Attributes}}    {{$k}} = {{$v}}{{"\n"}}{{end}}    health: {{.HealthDescription}}{{end}}'
echo

say "Running $job_file"
job_started=1
out=$("$nomad" job run -detach "$job_file" 2>&1) || die "nomad job run failed: $out"

alloc=""
status=""
for _ in $(seq 1 3000); do # up to 5 minutes (a first real pull takes longer: see image_pull_timeout)
	alloc=$("$nomad" job allocs -t '{{range .}}{{.ID}}{{end}}' "$job" 2>/dev/null || true)
	if [ -n "$alloc" ]; then
		status=$("$nomad" alloc status -t '{{.ClientStatus}}' "$alloc" 2>/dev/null || true)
		case "$status" in complete|failed|lost) break ;; esac
	fi
	sleep 0.1
done
[ -n "$alloc" ] || die "no allocation was created"

say "Task events"
"$nomad" alloc status -t '{{range $t, $s := .TaskStates}}{{range $s.Events}}    {{.Type}}: {{.DisplayMessage}}{{"\n"}}{{end}}{{end}}' "$alloc"
say "stdout of the container"
"$nomad" alloc logs "$alloc" hello | sed 's/^/    /'
say "stderr of the container (kept apart)"
"$nomad" alloc logs -stderr "$alloc" hello | sed 's/^/    /'

[ "$status" = "complete" ] || die "the job ended with status '$status'"
say "Job complete (alloc ${alloc:0:8})"

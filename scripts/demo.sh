#!/usr/bin/env bash
# make demo: a Nomad dev agent with the Tart driver runs examples/nomad/hello.nomad.hcl
# on a VM, shows its output, and cleans up (agent, VMs, temp dirs) on any exit.
# Uses the real tart on an Apple Silicon Mac that has it, tart-sim otherwise.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
bin="$repo/bin"
nomad="${NOMAD_BINARY:-$bin/nomad}"
plugin="$bin/nomad-driver-tart"
job_file="$repo/examples/nomad/hello.nomad.hcl"
image="${DEMO_IMAGE:-ghcr.io/cirruslabs/ubuntu:latest}"

. "$(dirname "$0")/nomad-demo-lib.sh"
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

for f in "$nomad" "$plugin"; do
	[ -x "$f" ] || die "$f is missing: run 'make demo' (it builds everything) or 'make build nomad'"
done

work="$(mktemp -d "${TMPDIR:-/tmp}/tartan-demo.XXXXXX")"
agent_pid=""
job_started=""

if [ "$(uname -s)" = "Darwin" ] && [ "$(uname -m)" = "arm64" ] && command -v tart >/dev/null 2>&1; then
	tart_bin="$(command -v tart)"
	say "Using the real tart: $tart_bin ($("$tart_bin" --version))"
	tart_home="${TART_HOME:-$HOME/.tart}"
	slots_dir="/var/tmp/tartan-slots"
	real_tart=1
else
	tart_bin="$bin/tart-sim"
	[ -x "$tart_bin" ] || die "$tart_bin is missing: run 'make build'"
	say "No tart on this machine (needs an Apple Silicon Mac): using the simulator $tart_bin"
	tart_home="$work/tart-home"
	slots_dir="$work/slots"
	real_tart=0
fi

tart_cmd() { TART_HOME="$tart_home" "$tart_bin" "$@"; }

cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	if [ -n "$job_started" ] && [ -n "$agent_pid" ]; then
		say "Stopping the job"
		"$nomad" job stop -purge -yes tart-hello >/dev/null 2>&1
	fi
	stop_agent "$agent_pid"
	# Only VMs this demo's driver created (nomad-<alloc>-<task>) are touched.
	for vm in $(tart_cmd list --source local -q 2>/dev/null | grep '^nomad-' || true); do
		if [ "$real_tart" = 1 ] && ! grep -q "$vm" "$work/agent.log" 2>/dev/null; then continue; fi
		say "Removing leftover VM $vm"
		tart_cmd stop "$vm" >/dev/null 2>&1
		tart_cmd delete "$vm" >/dev/null 2>&1
	done
	show_agent_log_tail "$rc" "$work/agent.log"
	rm -rf "$work"
	[ $rc -eq 0 ] && say "Done: agent stopped, VM deleted, temp files removed"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

http_port=$(free_port 24646)
rpc_port=$(free_port $((http_port + 1)))
serf_port=$(free_port $((rpc_port + 1)))
export NOMAD_ADDR="http://127.0.0.1:$http_port"

mkdir -p "$work/plugins"
cp "$plugin" "$work/plugins/nomad-driver-tart"
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
plugin "nomad-driver-tart" {
  config {
    tart_binary = "$tart_bin"
    tart_home   = "$tart_home"
    slots_dir   = "$slots_dir"
  }
}
HCL

say "Starting a Nomad dev agent ($("$nomad" version | head -n1)) on $NOMAD_ADDR"
"$nomad" agent -dev -plugin-dir="$work/plugins" -config="$work/agent.hcl" >"$work/agent.log" 2>&1 &
agent_pid=$!

say "Waiting for the node and the tart driver to be healthy"
ok=""
for _ in $(seq 1 600); do
	kill -0 "$agent_pid" 2>/dev/null || die "the agent exited"
	if [ "$("$nomad" node status -self -t '{{with index .Drivers "tart"}}{{.Healthy}}{{end}}' 2>/dev/null)" = "true" ]; then ok=1; break; fi
	sleep 0.1
done
[ -n "$ok" ] || die "the tart driver did not become healthy within 60 s"
"$nomad" node status -self -t '{{with index .Drivers "tart"}}{{range $k, $v := .Attributes}}    {{$k}} = {{$v}}{{"\n"}}{{end}}    health: {{.HealthDescription}}{{end}}'
echo

say "Running $job_file with image $image"
job_started=1
out=$("$nomad" job run -detach -var "image=$image" "$job_file" 2>&1) || die "nomad job run failed: $out"

alloc=""
status=""
for _ in $(seq 1 3000); do # up to 5 minutes (a first real pull takes longer: see image_pull_timeout)
	alloc=$("$nomad" job allocs -t '{{range .}}{{.ID}}{{end}}' tart-hello 2>/dev/null || true)
	if [ -n "$alloc" ]; then
		status=$("$nomad" alloc status -t '{{.ClientStatus}}' "$alloc" 2>/dev/null || true)
		case "$status" in complete|failed|lost) break ;; esac
	fi
	sleep 0.1
done
[ -n "$alloc" ] || die "no allocation was created"

say "Task events"
"$nomad" alloc status -t '{{range $t, $s := .TaskStates}}{{range $s.Events}}    {{.Type}}: {{.DisplayMessage}}{{"\n"}}{{end}}{{end}}' "$alloc"
say "stdout of the command in the VM"
"$nomad" alloc logs "$alloc" hello | sed 's/^/    /'
say "stderr"
"$nomad" alloc logs -stderr "$alloc" hello | sed 's/^/    /'
say "File the guest wrote into the shared alloc dir"
"$nomad" alloc fs "$alloc" alloc/from-guest.txt | sed 's/^/    /'

[ "$status" = "complete" ] || die "the job ended with status '$status'"
say "Job complete (alloc ${alloc:0:8})"

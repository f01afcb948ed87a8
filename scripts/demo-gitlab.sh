#!/usr/bin/env bash
# Runs one whole GitLab job through the runner-faithful harness
# (gitlab/harness) with gitlab-tart-executor on the tart simulator, and
# shows the job log. `make demo-gitlab` builds the binaries first.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/bin"
for b in gitlab-tart-executor tart-sim; do
	[ -x "$BIN/$b" ] || { echo "missing $BIN/$b: run make build" >&2; exit 1; }
done

# Guest paths must not be under /tmp (a symlink on macOS), and the
# simulated guest sees this host's filesystem.
work=$(mktemp -d /var/tmp/tartan-demo-gitlab.XXXXXX)
cleanup() {
	# Leave nothing behind, even after Ctrl-C.
	for vm in $(TART_HOME="$work/tart" "$BIN/tart-sim" list --source local -q 2>/dev/null); do
		TART_HOME="$work/tart" "$BIN/tart-sim" stop --timeout 2 "$vm" >/dev/null 2>&1 || true
		TART_HOME="$work/tart" "$BIN/tart-sim" delete "$vm" >/dev/null 2>&1 || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

export TART_HOME="$work/tart"
# A short simulated boot, so the log shows the waits.
export TART_SIM_IP_DELAY="${TART_SIM_IP_DELAY:-800ms}" TART_SIM_SSH_DELAY="${TART_SIM_SSH_DELAY:-400ms}"

mkdir -p "$work/builds" "$work/cache" "$work/guest"
cat > "$work/gitlab.toml" <<TOML
tart_binary = "$BIN/tart-sim"
slots_dir = "$work/slots"
state_dir = "$work/state"
guest_builds_dir = "$work/guest/builds"
guest_cache_dir = "$work/guest/cache"
pull_policy = "if-not-present"
cpu = "auto"
memory = "auto"
job_overridable = ["cpu", "memory", "pull_policy"]
TOML
if [ "$(id -u)" = 0 ]; then
	# Host dirs are shared into the guest (the simulator needs root for
	# its private mount namespace).
	cat >> "$work/gitlab.toml" <<TOML
host_builds_dir = "$work/builds"
host_cache_dir = "$work/cache"
TOML
else
	# Without root the simulated sshd cannot bind port 22.
	export TART_SIM_SSH_PORT=2222
	echo 'ssh_port = 2222' >> "$work/gitlab.toml"
fi

echo "==> settings ($work/gitlab.toml)"
sed 's/^/    /' "$work/gitlab.toml"
echo "==> running one job through the harness"
status=0
go run ./gitlab/harness/runjob \
	--executor "$BIN/gitlab-tart-executor" --config "$work/gitlab.toml" \
	--image ghcr.io/cirruslabs/macos-sequoia-base:latest \
	--var TART_EXECUTOR_SOFTNET_ENABLED=false \
	--after 'echo "after_script sees CI_JOB_STATUS=$CI_JOB_STATUS"' \
	-- \
	'echo "Hello from $(hostname), job $CI_JOB_ID"' \
	'echo "project dir: $CI_PROJECT_DIR"' \
	'echo "bash $BASH_VERSION"' \
	'date > built.txt && ls -l built.txt' || status=$?
if [ "$(id -u)" = 0 ]; then
	echo "==> on the host, the shared builds dir now holds:"
	find "$work/builds" -type f | sed "s|$work/|    |"
fi
exit $status

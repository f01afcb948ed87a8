# Helpers shared by the Nomad demos (demo.sh, demo-container.sh); sourced, not run.

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# stop_agent ends the dev agent: SIGINT, up to 30 s to leave, then KILL of its group.
stop_agent() {
	local pid=$1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	say "Stopping the Nomad agent (pid $pid)"
	kill -INT "$pid" 2>/dev/null
	for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# show_agent_log_tail prints the agent log's end after a real failure (not Ctrl-C).
show_agent_log_tail() {
	local rc=$1 log=$2
	if [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] && [ -f "$log" ]; then
		echo "--- last lines of the agent log ---" >&2
		tail -n 40 "$log" >&2
	fi
}

# free_port prints the first port from $1 up that nothing listens on.
free_port() {
	local p=$1
	while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
	echo "$p"
}

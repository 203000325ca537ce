# tests/integration/lib.sh - helpers shared by the shell integration tests
# (sourced, never run). Each sets only the variables it names.

# mash_start_mosquitto DIR: a plain-TCP mosquitto on a free loopback port
# (anonymous, no persistence; config and log in DIR). Sets MOSQ_PID and
# MOSQ_PORT; returns 1 (both empty) if none would start in ten tries. The
# caller stops it (kill "$MOSQ_PID").
mash_start_mosquitto() {
	local dir=$1 p bin
	bin=$(command -v mosquitto 2>/dev/null || echo /usr/sbin/mosquitto)
	MOSQ_PID="" MOSQ_PORT=""
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		p=$((20000 + RANDOM % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
		printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' \
			"$p" >"$dir/mosquitto.conf"
		"$bin" -c "$dir/mosquitto.conf" >"$dir/mosquitto.log" 2>&1 &
		MOSQ_PID=$!
		for _ in $(seq 1 50); do
			if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
				MOSQ_PORT=$p
				return 0
			fi
			kill -0 "$MOSQ_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill "$MOSQ_PID" 2>/dev/null
		wait "$MOSQ_PID" 2>/dev/null
		MOSQ_PID=""
	done
	return 1
}

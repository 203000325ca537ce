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

# mash_demo_hold TMP: scripts/demo.sh in hold mode into TMP/demo (the whole
# product, its web console kept running; needs MASH_SOURCE_DIR,
# MASH_BUILD_DIR and MASH_BIN_DIR). Sets DEMO_PID, DEMO (its directory),
# CONSOLE_URL and CONSOLE_PORT; returns 1, after printing the demo's tail,
# if it never reached its hold. The caller ends it with mash_demo_release
# (also from its EXIT trap).
mash_demo_hold() {
	local tmp=$1
	DEMO=$tmp/demo DEMO_PID="" CONSOLE_URL="" CONSOLE_PORT=""
	MASH_DEMO_DIR=$DEMO MASH_DEMO_HOLD=$tmp/hold MASH_DEMO_HOLD_S=600 \
		timeout 900 "$MASH_SOURCE_DIR/scripts/demo.sh" "$MASH_BUILD_DIR" \
		>"$tmp/demo.out" 2>"$tmp/demo.err" &
	DEMO_PID=$!
	for _ in $(seq 1 1800); do
		grep -q '^demo=' "$tmp/hold" 2>/dev/null && break
		kill -0 "$DEMO_PID" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q '^demo=' "$tmp/hold" 2>/dev/null; then
		tail -n 30 "$tmp/demo.out" "$tmp/demo.err" >&2
		return 1
	fi
	CONSOLE_URL=$(sed -n 's/^console=//p' "$tmp/hold")
	CONSOLE_PORT=$(sed -n 's|^https://127.0.0.1:\([0-9]*\)/$|\1|p' <<<"$CONSOLE_URL")
	[ -n "$CONSOLE_PORT" ]
}

# mash_demo_release TMP: end the hold and wait (bounded) for the demo to
# stop everything it started. Returns the demo's exit status.
mash_demo_release() {
	local tmp=$1 rc
	rm -f "$tmp/hold"
	[ -n "${DEMO_PID:-}" ] || return 0
	for _ in $(seq 1 300); do
		kill -0 "$DEMO_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$DEMO_PID" 2>/dev/null && kill -TERM "$DEMO_PID" 2>/dev/null
	wait "$DEMO_PID"
	rc=$?
	DEMO_PID=""
	return $rc
}

# mash_new_police_event DEMO TMP: TMP/police-new.csv, the demo's first
# police record with a new event id, and TMP/send.sh, which sends it with
# the demo's police agent (bounded). Prints the new event id.
mash_new_police_event() {
	local demo=$1 tmp=$2 id
	id=$(cat /proc/sys/kernel/random/uuid)
	sed -n 1p "$demo/feeds/police-1.csv" >"$tmp/police-new.csv"
	sed -n 2p "$demo/feeds/police-1.csv" |
		sed "s/^\([^,]*\),[^,]*,/\1,$id,/" >>"$tmp/police-new.csv"
	cat >"$tmp/send.sh" <<SEND
#!/bin/sh
exec timeout 60 "$MASH_BIN_DIR/mash-agent" --config "$demo/agent-police.cfg" \\
	--agency police --input "$tmp/police-new.csv" >"$tmp/agent.log" 2>&1
SEND
	chmod +x "$tmp/send.sh"
	printf '%s\n' "$id"
}

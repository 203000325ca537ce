#!/usr/bin/env bash
# make demo: the whole product on the sample story, in one command.
#
#   scripts/demo.sh [BUILD_DIR]        (make demo passes its build dir)
#
# Keeps every working file for inspection under $MASH_DEMO_DIR (default
# BUILD_DIR/demo): configs, keys, trust store, the store and audit trail
# (mash.db), logs. The previous run's contents are wiped first. With
# MASH_DEMO_HOLD=FILE it writes the web console's address and sign-in to
# FILE at the end and keeps everything running while FILE exists (at most
# MASH_DEMO_HOLD_S seconds, default 3600; `make demo-console`). Starts a
# private mosquitto on a free 127.0.0.1 port and mashd, runs the five agency
# agents over agents/samples/ in the order the story happened, prints the
# analyst's combined picture and the s47 trigger, verifies the audit trail,
# and stops every process it started - also on failure or Ctrl-C.
# Exits non-zero with one line saying which step failed.
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
BIN=${MASH_BIN_DIR:-$BUILD/bin}
DEMO=${MASH_DEMO_DIR:-$BUILD/demo}
SAMPLES=${MASH_DEMO_SAMPLES:-$ROOT/agents/samples}
POLICY_DIR=$ROOT/policy
# Every wait is bounded (seconds).
STEP_TIMEOUT=${MASH_DEMO_STEP_TIMEOUT:-60}
NHS=9434765919
AGENCIES=(police health education yot housing social-care)
# The people who ask for pictures in the demo.
REQUESTERS=(analyst.amara housing.officer1 auditor.ada)
# The web console's users (user name, principal): they sign requests too.
CONSOLE_USERS=("amara analyst.amara" "sam sw.sam" "hal housing.officer1"
	"ada auditor.ada")
HOLD=${MASH_DEMO_HOLD:-}
# Inboxes of the strategy-discussion core (s47-triggers.md "Who is told").
WATCH_INBOXES=(sw.sam swm.taylor police.pp1 health.nurse1 school.dsl1)

PIDS=()        # every process we started, in start order
PIDS_FILE=""   # the same, on disk, for tests that check nothing is left

say() { printf '%s\n' "$*"; }
step() { printf '==> %s\n' "$*"; }
die() {
	printf 'demo: FAILED: %s\n' "$*" >&2
	exit 1
}

# The process group of pid, from /proc (no procps needed); "" if gone.
pgrp_of() {
	local stat rest
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	rest=${stat##*) }
	set -- $rest
	printf '%s\n' "${3:-}"
}

# Stop one recorded process: TERM, wait up to 10 s, then KILL; reap it.
# A pid started through run() leads its own process group (timeout(1)
# makes one), so the whole group is signalled: the command under timeout
# must not outlive it.
stop_pid() {
	local pid=$1 target=$1
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	if [ "$(pgrp_of "$pid")" = "$pid" ]; then
		target=-$pid
	fi
	kill -TERM -- "$target" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 -- "$target" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 -- "$target" 2>/dev/null && kill -KILL -- "$target" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# Stop every process we started, newest first.
cleanup() {
	local rc=$? i
	# A second Ctrl-C (or the TERM that timeout(1) and make send after
	# the first) must not cut the cleanup short: ignore them from here.
	trap '' INT TERM
	trap - EXIT
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${PIDS[i]}"
	done
	exit "$rc"
}
on_signal() {
	# First: timeout(1) passes the same signal on to its whole group, and
	# a second one arriving before cleanup's own trap line would re-enter
	# here and exit with the children still running.
	trap '' INT TERM
	printf 'demo: interrupted, stopping everything it started\n' >&2
	exit 130
}
trap cleanup EXIT
trap on_signal INT TERM

record_pid() {
	PIDS+=("$1")
	[ -n "$PIDS_FILE" ] && printf '%s\n' "$1" >>"$PIDS_FILE"
}

# Start "$@" in the background with output to a log; record its pid.
start_bg() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 &
	record_pid "$!"
}

# Run "$@" to completion, bounded by STEP_TIMEOUT, as a recorded child that
# the shell waits for with the wait builtin: a trapped Ctrl-C interrupts
# wait at once (it would not interrupt a foreground command), and cleanup
# then stops the child. Returns the command's exit status.
run() {
	local p rc
	timeout "$STEP_TIMEOUT" "$@" &
	p=$!
	record_pid "$p"
	wait "$p"
	rc=$?
	# Reaped: forget it so that cleanup never signals a reused pid.
	unset 'PIDS[-1]'
	return "$rc"
}

# Wait up to $2 seconds for 127.0.0.1:$1 to accept connections while pid
# $3 stays alive. 0 when listening.
wait_port() {
	local port=$1 secs=$2 pid=$3 n
	for ((n = 0; n < secs * 10; n++)); do
		kill -0 "$pid" 2>/dev/null || return 1
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ---------------------------------------------------------------- checks
step "checking the build"
for b in mashd mashctl mash-agent mash-console; do
	[ -x "$BIN/$b" ] || die "binary $BIN/$b missing: run 'make' first"
done
for b in mosquitto mosquitto_sub timeout; do
	command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] ||
		die "$b not installed: run 'make deps'"
done
MOSQUITTO=$(command -v mosquitto 2>/dev/null || echo /usr/sbin/mosquitto)
[ -f "$POLICY_DIR/default.cfg" ] || die "policy $POLICY_DIR/default.cfg missing"
[ -f "$POLICY_DIR/directory.cfg" ] || die "directory $POLICY_DIR/directory.cfg missing"
[ -d "$SAMPLES" ] || die "sample feeds $SAMPLES missing"

# ---------------------------------------------------------------- demo dir
# Only a directory this script made (marker file) is ever wiped.
if [ -e "$DEMO" ]; then
	if [ ! -f "$DEMO/.mash-demo" ] && [ -n "$(ls -A "$DEMO" 2>/dev/null)" ]; then
		die "$DEMO exists and was not made by the demo: refusing to wipe it"
	fi
	rm -rf -- "${DEMO:?}"/* "${DEMO:?}"/.mash-demo "${DEMO:?}"/.pids ||
		die "cannot wipe $DEMO"
fi
mkdir -p "$DEMO"/{keys,enc,trust,logs,outbox,feeds} || die "cannot create $DEMO"
: >"$DEMO/.mash-demo"
PIDS_FILE=$DEMO/.pids
: >"$PIDS_FILE"

# ---------------------------------------------------------------- keys
step "generating keys and the trust store in $DEMO"
for s in mashd "${AGENCIES[@]}" "${REQUESTERS[@]}" sw.sam; do
	run "$BIN/mashctl" keygen --signer "$s" --key-id k1 --out "$DEMO/keys/$s" \
		>>"$DEMO/logs/setup.log" 2>&1 || die "mashctl keygen --signer $s (see $DEMO/logs/setup.log)"
	run "$BIN/mashctl" trust add --store "$DEMO/trust" --signer "$s" --key-id k1 \
		--pub "$DEMO/keys/$s/k1.pub.pem" >>"$DEMO/logs/setup.log" 2>&1 ||
		die "mashctl trust add --signer $s (see $DEMO/logs/setup.log)"
done

# The store's key-encryption key (issue 28): mashd keeps every event's
# envelope and payload sealed under keys wrapped by it. Kept beside the
# demo here; in production, off the disk that holds the store.
run "$BIN/mashctl" key new --out "$DEMO/store.key" >>"$DEMO/logs/setup.log" 2>&1 ||
	die "mashctl key new (see $DEMO/logs/setup.log)"
# ... and each agency's own, for the records waiting in its outbox.
for a in "${AGENCIES[@]}"; do
	run "$BIN/mashctl" key new --out "$DEMO/keys/$a/outbox.key" \
		>>"$DEMO/logs/setup.log" 2>&1 ||
		die "mashctl key new --out $DEMO/keys/$a/outbox.key (see $DEMO/logs/setup.log)"
done

# Every principal's encryption key (X25519): mashd seals each delivery to
# it, so the broker carries ciphertext only (issue 25). The hub's
# directory is the shipped one with each principal's enc_key added.
step "generating each principal's encryption key in $DEMO/enc"
PRINCIPALS=$(grep -o 'name = "[a-z0-9._-]*"' "$POLICY_DIR/directory.cfg" | cut -d'"' -f2)
cp "$POLICY_DIR/directory.cfg" "$DEMO/directory.cfg" || die "cannot copy the directory"
for p in $PRINCIPALS; do
	run "$BIN/mashctl" keygen --kind x25519 --signer "$p" --key-id e1 \
		--out "$DEMO/enc/$p" >>"$DEMO/logs/setup.log" 2>&1 ||
		die "mashctl keygen --kind x25519 --signer $p (see $DEMO/logs/setup.log)"
	sed -i "s|name = \"$p\";|name = \"$p\"; enc_key = \"$DEMO/enc/$p/e1.pub.pem\";|" \
		"$DEMO/directory.cfg" || die "cannot add $p's key to the directory"
done

# ---------------------------------------------------------------- PKI, ACL
# Nobody reaches the broker without a certificate of the hub's own CA, and
# each identity (its certificate's CN) only its own topics: the ACL is
# generated from the directory (docs/internals/security.md).
step "making the hub's PKI and the broker's ACL in $DEMO/pki"
run "$BIN/mashctl" pki init --dir "$DEMO/pki" >>"$DEMO/logs/setup.log" 2>&1 ||
	die "mashctl pki init (see $DEMO/logs/setup.log)"
run "$BIN/mashctl" pki issue --dir "$DEMO/pki" --name broker --server \
	--host localhost --host 127.0.0.1 >>"$DEMO/logs/setup.log" 2>&1 ||
	die "mashctl pki issue broker (see $DEMO/logs/setup.log)"
run "$BIN/mashctl" pki issue --dir "$DEMO/pki" --directory "$POLICY_DIR/directory.cfg" \
	>>"$DEMO/logs/setup.log" 2>&1 ||
	die "mashctl pki issue --directory (see $DEMO/logs/setup.log)"
run "$BIN/mashctl" acl generate --directory "$POLICY_DIR/directory.cfg" \
	--out "$DEMO/acl" >>"$DEMO/logs/setup.log" 2>&1 ||
	die "mashctl acl generate (see $DEMO/logs/setup.log)"
# The web console's HTTPS certificate, from the same CA.
run "$BIN/mashctl" pki issue --dir "$DEMO/pki" --name console-web --server \
	--host localhost --host 127.0.0.1 >>"$DEMO/logs/setup.log" 2>&1 ||
	die "mashctl pki issue console-web (see $DEMO/logs/setup.log)"

# ---------------------------------------------------------------- console users
# Each console user acts as one principal: its signing and encryption keys
# and its broker certificate are kept wrapped under the password (issue
# 29). One random password for the demo's users, in a 0600 file.
step "adding the web console's users (amara, sam, hal, ada)"
(umask 077 && head -c 18 /dev/urandom | base64 >"$DEMO/console-password") ||
	die "cannot write $DEMO/console-password"
for u in "${CONSOLE_USERS[@]}"; do
	set -- $u
	run "$BIN/mashctl" console user add --accounts "$DEMO/console-accounts.json" \
		--name "$1" --principal "$2" --sign-key "$DEMO/keys/$2/k1.key.pem" \
		--enc-key "$DEMO/enc/$2/e1.key.pem" --tls-cert "$DEMO/pki/$2.pem" \
		--tls-key "$DEMO/pki/$2.key" --password-file "$DEMO/console-password" \
		>>"$DEMO/logs/setup.log" 2>&1 ||
		die "mashctl console user add --name $1 (see $DEMO/logs/setup.log)"
done

# ---------------------------------------------------------------- mosquitto
step "starting a private mosquitto on 127.0.0.1 (mutual TLS, generated ACL)"
PORT=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
	p=$((20000 + RANDOM % 40000))
	port_in_use "$p" && continue
	cat >"$DEMO/mosquitto.conf" <<EOF
# Private broker for the demo: loopback only, no persistence, mutual TLS
# with the demo's own CA, each client's certificate CN its user in the
# generated ACL (docs/internals/security.md). No anonymous access.
per_listener_settings false
allow_anonymous false
acl_file $DEMO/acl
$([ "$(id -u)" -eq 0 ] && echo "# as root: stay root to read the 0700 pki directory
user root")
listener $p 127.0.0.1
cafile $DEMO/pki/ca.pem
certfile $DEMO/pki/broker.pem
keyfile $DEMO/pki/broker.key
require_certificate true
use_identity_as_username true
persistence false
# Held for mashd while its receive queue is full (flow control): at least
# the agents' windows together (docs/internals/mq.md, sizing).
max_queued_messages 100000
# mashd's and the agents' publish pipelines are as deep as the broker's
# Receive Maximum (Mosquitto's default 20; docs/internals/mq.md, sizing).
max_inflight_messages 256
# No Nagle delay on the broker's side: mashd pipelines its publishes
# (docs/internals/mq.md), which Nagle + delayed ACK would hold ~40 ms.
set_tcp_nodelay true
log_dest stderr
log_type error
log_type warning
EOF
	start_bg "$DEMO/logs/mosquitto.log" "$MOSQUITTO" -c "$DEMO/mosquitto.conf"
	if wait_port "$p" 5 "${PIDS[-1]}"; then
		PORT=$p
		break
	fi
done
[ -n "$PORT" ] || die "mosquitto did not start (see $DEMO/logs/mosquitto.log)"
URI="ssl://localhost:$PORT"
say "    broker $URI"

# ---------------------------------------------------------------- configs
write_configs() {
	cat >"$DEMO/mashd.cfg" <<EOF
# mashd for the demo (written by scripts/demo.sh)
mqtt = {
  uri = "$URI";
  client_id = "mashd-demo";
  ca_file = "$DEMO/pki/ca.pem";
  cert_file = "$DEMO/pki/mashd.pem";
  key_file = "$DEMO/pki/mashd.key";
};
signer = "mashd";
key_id = "k1";
key_file = "$DEMO/keys/mashd/k1.key.pem";
trust_store = "$DEMO/trust";
policy = "$POLICY_DIR/default.cfg";
directory = "$DEMO/directory.cfg";
calendar = "$ROOT/s47/holidays.cfg";
store = "$DEMO/mash.db";
store_key_file = "$DEMO/store.key";
log_level = "info";
EOF
	for a in "${AGENCIES[@]}"; do
		cat >"$DEMO/agent-$a.cfg" <<EOF
# mash-agent for $a (written by scripts/demo.sh; format: agents/README.md)
agent = {
  agency = "$a";
  mqtt = { uri = "$URI"; client_id = "demo-agent-$a";
           ca_file = "$DEMO/pki/ca.pem"; cert_file = "$DEMO/pki/$a.pem";
           key_file = "$DEMO/pki/$a.key"; };
  signer = { key_id = "k1"; key_file = "$DEMO/keys/$a/k1.key.pem"; };
  receipts = { trust_store = "$DEMO/trust"; };
  outbox = { path = "$DEMO/outbox/$a.db"; key_file = "$DEMO/keys/$a/outbox.key"; };
  timeouts = { connect_ms = 10000; receipt_wait_ms = 30000; };
  log_level = "warn";
};
EOF
	done
	cat >"$DEMO/picture.cfg" <<EOF
# mashctl picture for the demo (written by scripts/demo.sh)
picture = {
  mqtt_uri = "$URI";
  mqtt_ca_file = "$DEMO/pki/ca.pem";
  mqtt_cert_dir = "$DEMO/pki";
  key_dir = "$DEMO/keys";
  key_id = "k1";
  enc_key_dir = "$DEMO/enc";
  trust_store = "$DEMO/trust";
  daemon_signer = "mashd";
  timeout_ms = 15000;
  holidays = "$ROOT/s47/holidays.cfg";
};
EOF
	cat >"$DEMO/console.cfg" <<EOF
# mash-console for the demo (written by scripts/demo.sh)
console = {
  listen = "127.0.0.1"; port = 0;
  cert_file = "$DEMO/pki/console-web.pem"; key_file = "$DEMO/pki/console-web.key";
  accounts = "$DEMO/console-accounts.json"; idle_timeout_s = 900;
  mqtt_uri = "$URI"; mqtt_ca_file = "$DEMO/pki/ca.pem";
  trust_store = "$DEMO/trust"; daemon_signer = "mashd";
  holidays = "$ROOT/s47/holidays.cfg"; static_dir = "$ROOT/console/static";
};
EOF
}
write_configs

# ---------------------------------------------------------------- mashd
step "starting mashd (policy/default.cfg, policy/directory.cfg, store $DEMO/mash.db)"
run "$BIN/mashd" --config "$DEMO/mashd.cfg" --check \
	>"$DEMO/logs/mashd-check.log" 2>&1 ||
	die "mashd --check refused the config (see $DEMO/logs/mashd-check.log)"
start_bg "$DEMO/logs/mashd.log" "$BIN/mashd" --config "$DEMO/mashd.cfg"
MASHD_PID=${PIDS[-1]}
# Ready when it has connected and subscribed (bounded: 30 s).
for _ in $(seq 1 300); do
	grep -q "mashd ready" "$DEMO/logs/mashd.log" 2>/dev/null && break
	kill -0 "$MASHD_PID" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$MASHD_PID" 2>/dev/null || die "mashd exited at start (see $DEMO/logs/mashd.log)"
grep -q "mashd ready" "$DEMO/logs/mashd.log" ||
	die "mashd not ready after 30 s (see $DEMO/logs/mashd.log)"

# Read the strategy-discussion core's inboxes as each principal does:
# mashctl inbox read verifies mashd's signature and opens each sealed
# delivery with the principal's own key, one JSON line per message. Each
# as the principal itself: the ACL lets a certificate read only its own
# inbox. inbox_log gathers them into logs/inbox.log.
for i in "${WATCH_INBOXES[@]}"; do
	start_bg "$DEMO/logs/inbox-$i.log" "$BIN/mashctl" inbox read \
		--config "$DEMO/picture.cfg" --as "$i" --follow --json
done
inbox_log() { cat "$DEMO"/logs/inbox-*.log >"$DEMO/logs/inbox.log" 2>/dev/null || true; }

# ---------------------------------------------------------------- agents
# The story in the order it happened (SHARED-DEFS.md): the police feed
# holds events 1 and 6, so it is replayed one line at a time.
step "running the agency agents over $SAMPLES"
feed_for() {
	local a=$1 f
	for f in "$SAMPLES/$a.jsonl" "$SAMPLES/$a.csv"; do
		[ -f "$f" ] && { printf '%s\n' "$f"; return 0; }
	done
	return 1
}
# Records in a feed: CSV lines after the header, or non-blank JSON lines.
records_in() {
	case "$1" in
	*.csv) echo $(($(grep -c . "$1") - 1)) ;;
	*) grep -c . "$1" ;;
	esac
}
# Run one agent over one feed and check its summary line
# ("summary: agency=A records=N sent=N accepted=N duplicate=N
# rejected_by_agent=N rejected_by_daemon=N pending=N"): every record must
# be receipted by mashd.
run_agent() {
	local a=$1 feed=$2 line acc dup rej pend rec
	: >"$DEMO/logs/agent-$a.last"
	run "$BIN/mash-agent" --config "$DEMO/agent-$a.cfg" \
		--agency "$a" --input "$feed" >"$DEMO/logs/agent-$a.last" 2>&1
	local rc=$?
	cat "$DEMO/logs/agent-$a.last" >>"$DEMO/logs/agent-$a.log"
	[ $rc -eq 0 ] ||
		die "mash-agent --agency $a over $feed exited $rc (see $DEMO/logs/agent-$a.log)"
	line=$(grep '^summary: ' "$DEMO/logs/agent-$a.last" | tail -n 1)
	if [ -z "$line" ]; then
		printf '    %-11s %s records from %s\n' "$a" "$(records_in "$feed")" "${feed#"$ROOT"/}"
		return 0
	fi
	rec=$(sed -n 's/.* records=\([0-9]*\).*/\1/p' <<<"$line")
	acc=$(sed -n 's/.* accepted=\([0-9]*\).*/\1/p' <<<"$line")
	dup=$(sed -n 's/.* duplicate=\([0-9]*\).*/\1/p' <<<"$line")
	rej=$(sed -n 's/.* rejected_by_daemon=\([0-9]*\).*/\1/p' <<<"$line")
	pend=$(sed -n 's/.* pending=\([0-9]*\).*/\1/p' <<<"$line")
	[ "${rej:-0}" -eq 0 ] && [ "${pend:-1}" -eq 0 ] ||
		die "mash-agent --agency $a: $line (see $DEMO/logs/agent-$a.log)"
	printf '    %-11s %s record(s) from %s: accepted %s, duplicate %s\n' \
		"$a" "$rec" "${feed#"$ROOT"/}" "$acc" "$dup"
}
POLICE_FEED=$(feed_for police) || die "no police feed in $SAMPLES"
# Split the police feed into its first record and the rest (a CSV keeps
# its header line in both parts; the sample has one record per line).
case "$POLICE_FEED" in
*.csv)
	{ sed -n 1p "$POLICE_FEED"; sed -n 2p "$POLICE_FEED"; } >"$DEMO/feeds/police-1.csv"
	{ sed -n 1p "$POLICE_FEED"; sed -n '3,$p' "$POLICE_FEED"; } >"$DEMO/feeds/police-2.csv"
	P1=$DEMO/feeds/police-1.csv P2=$DEMO/feeds/police-2.csv
	;;
*)
	grep -v '^[[:space:]]*$' "$POLICE_FEED" | sed -n 1p >"$DEMO/feeds/police-1.jsonl"
	grep -v '^[[:space:]]*$' "$POLICE_FEED" | sed -n '2,$p' >"$DEMO/feeds/police-2.jsonl"
	P1=$DEMO/feeds/police-1.jsonl P2=$DEMO/feeds/police-2.jsonl
	;;
esac
run_agent police "$P1"
for a in education housing health yot; do
	f=$(feed_for "$a") || die "no $a feed in $SAMPLES"
	run_agent "$a" "$f"
done
if [ "$(grep -c . "$P2")" -gt 1 ] || { [ "${P2%.jsonl}" != "$P2" ] && [ -s "$P2" ]; }; then
	run_agent police "$P2"
fi

# ---------------------------------------------------------------- picture
picture() {
	run "$BIN/mashctl" picture --config "$DEMO/picture.cfg" "$@"
}
step "the analyst's combined picture"
say ""
picture --as analyst.amara --nhs "$NHS" --purpose mash-triage \
	>"$DEMO/picture-analyst.txt" 2>"$DEMO/logs/picture-analyst.err" ||
	die "mashctl picture --as analyst.amara (see $DEMO/logs/picture-analyst.err)"
cat "$DEMO/picture-analyst.txt"
say ""

step "the s47 trigger in the strategy-discussion core's inboxes"
TRIGGER_TYPE='"type":"mash.v1.StrategyDiscussionTrigger"'
for _ in $(seq 1 50); do
	inbox_log
	grep -q "$TRIGGER_TYPE" "$DEMO/logs/inbox.log" 2>/dev/null && break
	sleep 0.1
done
inbox_log
n=$(grep -c "$TRIGGER_TYPE" "$DEMO/logs/inbox.log" 2>/dev/null || true)
[ "${n:-0}" -gt 0 ] || die "no StrategyDiscussionTrigger reached any of ${WATCH_INBOXES[*]}"
! grep -q "refused, not shown" "$DEMO"/logs/inbox-*.log ||
	die "an inbox message failed verification or decryption (see $DEMO/logs/inbox-*.log)"
# The kind of each trigger each attendee opened: raised, updated, escalated.
for inbox in "${WATCH_INBOXES[@]}"; do
	kinds=$(grep "$TRIGGER_TYPE" "$DEMO/logs/inbox-$inbox.log" 2>/dev/null |
		grep -o '"kind":"[a-z]*"' | cut -d'"' -f4 | paste -sd, - | sed 's/,/, /g')
	[ -n "$kinds" ] && printf '    %-32s %s\n' "mash/v1/inbox/$inbox:" "$kinds"
done

step "the same child seen by other roles (redacted by policy)"
for who in "housing.officer1 early-help" "auditor.ada audit"; do
	set -- $who
	picture --as "$1" --nhs "$NHS" --purpose "$2" \
		>"$DEMO/picture-$1.txt" 2>"$DEMO/logs/picture-$1.err"
	rc=$?
	[ $rc -le 1 ] || die "mashctl picture --as $1 exited $rc (see $DEMO/logs/picture-$1.err)"
	say "    $1 ($2):"
	grep -E '^(Child|Agencies|Timeline|DENIED)' "$DEMO/picture-$1.txt" | sed 's/^/      /'
done
# Break-glass is a per-role attribute of the policy (rule 8): never the
# auditor's. The attempt is refused with one line, exit 1, and audited.
picture --as auditor.ada --nhs "$NHS" --purpose audit \
	--break-glass "demo: an auditor may not override" \
	>"$DEMO/picture-bg-auditor.txt" 2>"$DEMO/logs/picture-bg-auditor.err"
rc=$?
[ $rc -eq 1 ] && grep -q "break-glass refused" "$DEMO/logs/picture-bg-auditor.err" ||
	die "the auditor's break-glass was not refused (exit $rc, see $DEMO/logs/picture-bg-auditor.err)"
say "    auditor.ada with --break-glass (exit 1): $(sed 's/^mashctl picture: //' "$DEMO/logs/picture-bg-auditor.err")"

# ---------------------------------------------------------------- audit
step "verifying the audit trail (hashes, tree, signed checkpoints)"
run "$BIN/mashctl" audit verify --db "$DEMO/mash.db" --trust "$DEMO/trust" \
	>"$DEMO/logs/audit-verify.log" 2>&1 ||
	die "mashctl audit verify --db $DEMO/mash.db (see $DEMO/logs/audit-verify.log)"
sed 's/^/    /' "$DEMO/logs/audit-verify.log"
step "audit report for police records (full report: $DEMO/audit-report.txt)"
run "$BIN/mashctl" audit report --db "$DEMO/mash.db" \
	>"$DEMO/audit-report.txt" 2>"$DEMO/logs/audit-report.err" ||
	die "mashctl audit report --db $DEMO/mash.db (see $DEMO/logs/audit-report.err)"
run "$BIN/mashctl" audit report --db "$DEMO/mash.db" --agency police \
	>"$DEMO/audit-report-police.txt" 2>>"$DEMO/logs/audit-report.err" ||
	die "mashctl audit report --agency police (see $DEMO/logs/audit-report.err)"
head -n 15 "$DEMO/audit-report-police.txt" | cut -c1-160 | sed 's/^/    /'

# ---------------------------------------------------------------- console
step "starting the web console (mash-console, HTTPS on 127.0.0.1)"
start_bg "$DEMO/logs/console.log" "$BIN/mash-console" --config "$DEMO/console.cfg"
CONSOLE_PID=${PIDS[-1]}
CONSOLE_URL=""
for _ in $(seq 1 100); do
	CONSOLE_URL=$(sed -n 's|^mash-console: listening on \(https://[0-9.:]*/\).*|\1|p' \
		"$DEMO/logs/console.log" 2>/dev/null)
	[ -n "$CONSOLE_URL" ] && break
	kill -0 "$CONSOLE_PID" 2>/dev/null || break
	sleep 0.1
done
[ -n "$CONSOLE_URL" ] || die "mash-console did not start (see $DEMO/logs/console.log)"
say "    $CONSOLE_URL  users: amara (analyst.amara), sam (sw.sam),"
say "    hal (housing.officer1), ada (auditor.ada);"
say "    password in $DEMO/console-password; CA $DEMO/pki/ca.pem"

if [ -n "$HOLD" ]; then
	{
		printf 'console=%s\n' "$CONSOLE_URL"
		printf 'password_file=%s\n' "$DEMO/console-password"
		printf 'ca=%s\n' "$DEMO/pki/ca.pem"
		printf 'demo=%s\n' "$DEMO"
	} >"$HOLD" || die "cannot write $HOLD"
	step "holding: everything keeps running while $HOLD exists (Ctrl-C to stop)"
	end=$((SECONDS + ${MASH_DEMO_HOLD_S:-3600}))
	while [ -e "$HOLD" ] && [ $SECONDS -lt $end ]; do
		kill -0 "$CONSOLE_PID" 2>/dev/null || die "mash-console exited (see $DEMO/logs/console.log)"
		sleep 0.5
	done
fi

say ""
say "demo: OK. Files kept in $DEMO (configs, keys/, trust/, mash.db, logs/)"

#!/usr/bin/env bash
# `mashctl picture` refusals, each with exit 2 and one clear line on
# stderr (cli.md): bad usage, unreadable or incomplete config, missing key,
# unreachable broker, and no answer within --timeout (a real mosquitto on
# a free loopback port, but no mashd). The granted/denied paths (exit 0/1)
# are in it_picture.c. Every wait is bounded; the broker is stopped on exit.
set -u -o pipefail

BIN=${MASH_BIN_DIR:?MASH_BIN_DIR not set}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mash-it-mashctl-picture-XXXXXX")
MOSQ_PID=""
FAILS=0

cleanup() {
	if [ -n "$MOSQ_PID" ]; then
		kill -TERM "$MOSQ_PID" 2>/dev/null
		wait "$MOSQ_PID" 2>/dev/null
	fi
	rm -rf -- "$TMP"
}
trap cleanup EXIT

fail() {
	echo "it_mashctl_picture: FAIL: $*" >&2
	FAILS=$((FAILS + 1))
}

# expect CODE PATTERN ARGS...: exit code CODE, exactly one stderr line,
# matching PATTERN (grep -E).
expect() {
	local code=$1 pat=$2 rc lines
	shift 2
	timeout 30 "$BIN/mashctl" picture "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	lines=$(grep -c . "$TMP/err")
	if [ "$rc" -ne "$code" ]; then
		fail "picture $*: exit $rc, wanted $code ($(head -2 "$TMP/err"))"
	elif [ "$code" -ne 0 ] && [ "$lines" -ne 1 ]; then
		fail "picture $*: $lines stderr lines, wanted 1: $(cat "$TMP/err")"
	elif ! grep -qE -- "$pat" "$TMP/err" "$TMP/out"; then
		fail "picture $*: output lacks /$pat/: $(cat "$TMP/err")"
	fi
}

# A key for analyst.amara and a trust store (for the daemon's answers).
mkdir -p "$TMP/keys"
"$BIN/mashctl" keygen --signer analyst.amara --key-id k1 \
	--out "$TMP/keys/analyst.amara" >/dev/null 2>&1 || fail "keygen"
"$BIN/mashctl" keygen --signer mashd --key-id k1 --out "$TMP/mashd" \
	>/dev/null 2>&1 || fail "keygen mashd"
"$BIN/mashctl" trust add --store "$TMP/trust" --signer mashd --key-id k1 \
	--pub "$TMP/mashd/k1.pub.pem" >/dev/null 2>&1 || fail "trust add"

write_cfg() { # URI [extra line]
	cat >"$TMP/picture.cfg" <<EOF
picture = {
  mqtt_uri = "$1";
  mqtt_insecure = true;
  key_dir = "keys";
  key_id = "k1";
  trust_store = "trust";
  ${2:-}
};
EOF
}

# --- usage ------------------------------------------------------------
expect 0 "usage: mashctl picture" --help
expect 2 "are required" --as analyst.amara --nhs 9434765919
expect 2 "exactly one of --case and --nhs" --config "$TMP/picture.cfg" \
	--as analyst.amara --purpose mash-triage
expect 2 "exactly one of --case and --nhs" --config "$TMP/picture.cfg" \
	--as analyst.amara --purpose mash-triage --case C-1 --nhs 9434765919
expect 2 "unknown purpose" --config "$TMP/picture.cfg" --as analyst.amara \
	--nhs 9434765919 --purpose curiosity
expect 2 "Modulus 11" --config "$TMP/picture.cfg" --as analyst.amara \
	--nhs 9434765918 --purpose mash-triage
expect 2 "principal must be" --config "$TMP/picture.cfg" --as "Analyst Amara" \
	--nhs 9434765919 --purpose mash-triage
expect 2 "--timeout" --config "$TMP/picture.cfg" --as analyst.amara \
	--nhs 9434765919 --purpose mash-triage --timeout 0
expect 2 "unknown option" --config "$TMP/picture.cfg" --as analyst.amara \
	--nhs 9434765919 --purpose mash-triage --verbose
# The NHS number is never echoed back.
if grep -q 9434765918 "$TMP/err" 2>/dev/null; then
	fail "an NHS number was echoed on stderr"
fi

# --- config and key -----------------------------------------------------
expect 2 "$TMP/none.cfg: cannot read config" --config "$TMP/none.cfg" \
	--as analyst.amara --nhs 9434765919 --purpose mash-triage
printf 'other = { x = 1; };\n' >"$TMP/picture.cfg"
expect 2 "no 'picture' group" --config "$TMP/picture.cfg" \
	--as analyst.amara --nhs 9434765919 --purpose mash-triage
printf 'picture = { mqtt_uri = "tcp://x:1"; \n' >"$TMP/picture.cfg"
expect 2 "picture.cfg:[0-9]+:" --config "$TMP/picture.cfg" \
	--as analyst.amara --nhs 9434765919 --purpose mash-triage
# A misspelt setting is refused with its line, never ignored.
write_cfg "tcp://127.0.0.1:1" 'mqtt_cert_dri = "pki";'
expect 2 "picture.cfg:[0-9]+: unknown setting 'picture.mqtt_cert_dri'" \
	--config "$TMP/picture.cfg" --as analyst.amara --nhs 9434765919 --purpose mash-triage
# Plaintext only when asked for by name (issue 24).
printf 'picture = { mqtt_uri = "tcp://127.0.0.1:1"; key_dir = "keys";\n  key_id = "k1"; trust_store = "trust"; };\n' \
	>"$TMP/picture.cfg"
expect 2 "plaintext tcp://" --config "$TMP/picture.cfg" \
	--as analyst.amara --nhs 9434765919 --purpose mash-triage
write_cfg "tcp://127.0.0.1:1" 'timeout_ms = 0;'
expect 2 "timeout_ms must be" --config "$TMP/picture.cfg" \
	--as analyst.amara --nhs 9434765919 --purpose mash-triage
write_cfg "tcp://127.0.0.1:1"
expect 2 "cannot load housing.officer1's private key" --config "$TMP/picture.cfg" \
	--as housing.officer1 --nhs 9434765919 --purpose early-help

# --- broker -----------------------------------------------------------------
expect 2 "cannot connect to the broker" --config "$TMP/picture.cfg" \
	--as analyst.amara --nhs 9434765919 --purpose mash-triage

PORT=""
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
mash_start_mosquitto "$TMP" && PORT=$MOSQ_PORT
if [ -z "$PORT" ]; then
	fail "mosquitto did not start"
else
	write_cfg "tcp://127.0.0.1:$PORT"
	start=$SECONDS
	expect 2 "no answer from mashd on mash/v1/inbox/analyst.amara within 1000 ms" \
		--config "$TMP/picture.cfg" --as analyst.amara --nhs 9434765919 \
		--purpose mash-triage --timeout 1
	[ $((SECONDS - start)) -le 10 ] || fail "--timeout 1 took $((SECONDS - start)) s"
fi

if [ $FAILS -ne 0 ]; then
	echo "it_mashctl_picture: $FAILS failure(s)" >&2
	exit 1
fi
echo "it_mashctl_picture: all checks passed"

#!/usr/bin/env bash
# Issue 28: the quarantine for an operator. `mashctl quarantine list` shows
# what was rejected and why, never the bytes; `show` prints the bytes only
# after a QUARANTINE_READ audit record naming who asked; `purge` deletes
# what is older than N days with a PURGE record; on an encrypted store each
# needs the store's key file, and `show` gives the same bytes as before the
# store was encrypted. The audit trail verifies afterwards.
set -euo pipefail
B=${MASH_BIN_DIR:?}
T=$(mktemp -d /tmp/mash-quarantine-XXXXXX)
PID= MOSQ_PID=
cleanup() {
  [ -z "$PID" ] || kill -9 "$PID" 2>/dev/null || true
  [ -z "$MOSQ_PID" ] || kill -9 "$MOSQ_PID" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "it_quarantine: FAIL: $*" >&2; exit 1; }
expect() {
  local want=$1; shift
  set +e; timeout 30 "$@" >"$T/out" 2>"$T/err"; local rc=$?; set -e
  [ "$rc" -eq "$want" ] || fail "$* -> exit $rc, want $want; stderr: $(cat "$T/err")"
}
says() { grep -qF -- "$1" "$T/err" || fail "stderr lacks '$1': $(cat "$T/err")"; }
shows() { grep -qF -- "$1" "$T/out" || fail "stdout lacks '$1': $(cat "$T/out")"; }
sql() { /usr/bin/python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute(sys.argv[2]).fetchone()[0]); c.commit()' "$T/mash.db" "$1"; }

"$B/mashctl" keygen --signer mashd --key-id k1 --out "$T/keys" >/dev/null 2>&1
"$B/mashctl" trust add --store "$T/trust" --signer mashd --key-id k1 \
  --pub "$T/keys/k1.pub.pem" >/dev/null 2>&1
config() {
  cat >"$T/mashd.cfg" <<CFG
mqtt = { uri = "tcp://127.0.0.1:1"; client_id = "mashd-quarantine"; insecure = true; };
signer = "mashd";
key_id = "k1";
key_file = "$T/keys/k1.key.pem";
trust_store = "$T/trust";
store = "$T/mash.db";
CFG
  [ -z "$1" ] || echo "store_key_file = \"$1\";" >>"$T/mashd.cfg"
}
run_mashd() { # until its store exists (and is encrypted, with a key)
  "$B/mashd" --config "$T/mashd.cfg" >"$T/mashd.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do
    [ -s "$T/mash.db" ] && [ "$(sql "SELECT count(*) FROM sqlite_master WHERE name = 'audit_log'" 2>/dev/null || echo 0)" = 1 ] &&
      { [ -z "$1" ] || [ "$(sql "SELECT count(*) FROM meta WHERE key = 'atrest.keys'" 2>/dev/null || echo 0)" = 1 ]; } && break
    sleep 0.1
  done
  kill -TERM "$PID"; wait "$PID" || true; PID=
}

# A clear store with three rejected messages: two of them 40 days old.
config ""
run_mashd ""
now=$(($(date +%s) * 1000))
old=$((now - 40 * 86400000))
for r in "1|$old|police|not a signed envelope|6a6f7264616e207265656420736f6d65" \
         "2|$old|health|bad signature|0102030405" \
         "3|$now|police|field too long: summary|ffee"; do
  IFS='|' read -r id at ag why hex <<<"$r"
  sql "INSERT INTO quarantine(id, topic, agency, received_at, err, errname, reason, bytes, orig_len, truncated) VALUES ($id, CAST('mash/v1/events/$ag' AS BLOB), '$ag', $at, -5, 'DECODE', '$why', X'$hex', length(X'$hex'), 0) RETURNING id" >/dev/null
done

expect 0 "$B/mashctl" quarantine list --db "$T/mash.db"
shows "not a signed envelope"; shows "field too long: summary"
grep -qF "6a6f7264" "$T/out" && fail "list printed the bytes"
expect 0 "$B/mashctl" quarantine list --db "$T/mash.db" --agency health
[ "$(grep -c . "$T/out")" = 2 ] || fail "list --agency health: $(cat "$T/out")"
expect 2 "$B/mashctl" quarantine show --db "$T/mash.db" --id 1
says "--id N and --as NAME"
expect 1 "$B/mashctl" quarantine show --db "$T/mash.db" --id 99 --as ops.olu
says "no quarantined message 99"
expect 0 "$B/mashctl" quarantine show --db "$T/mash.db" --id 1 --as ops.olu
shows "6a6f7264616e207265656420736f6d65"
[ "$(sql "SELECT count(*) FROM audit_log WHERE type = 'QUARANTINE_READ' AND actor = 'ops.olu' AND json_extract(record, '$.extra.id') = 1")" = 1 ] ||
  fail "show was not audited"
expect 2 "$B/mashctl" quarantine show --db "$T/nope.db" --id 1 --as ops.olu
says "no such store"
[ ! -e "$T/nope.db" ] || fail "quarantine show created a store"
# A key for a store that is not encrypted: refused, and the store is not
# encrypted as a side effect.
"$B/mashctl" key new --out "$T/early.key" >/dev/null 2>&1
expect 1 "$B/mashctl" quarantine show --db "$T/mash.db" --key "$T/early.key" --id 1 --as ops.olu
says "is not encrypted at rest"
[ "$(sql "SELECT count(*) FROM meta WHERE key = 'atrest.keys'")" = 0 ] ||
  fail "quarantine show --key encrypted the store"

# Encrypted: the key file is needed, and the bytes are the same.
"$B/mashctl" key new --out "$T/store.key" >/dev/null 2>&1
config "$T/store.key"
run_mashd 1
[ "$(sql "SELECT count(*) FROM quarantine WHERE instr(bytes, X'6a6f7264616e') > 0")" = 0 ] ||
  fail "the quarantine is still in clear after encryption"
expect 2 "$B/mashctl" quarantine list --db "$T/mash.db"
says "encrypted at rest: give its key file with --key"
expect 0 "$B/mashctl" quarantine show --db "$T/mash.db" --key "$T/store.key" --id 1 --as ops.olu
shows "6a6f7264616e207265656420736f6d65"

# Purge: what is older than 30 days goes, with one PURGE record.
expect 0 "$B/mashctl" quarantine purge --db "$T/mash.db" --key "$T/store.key" --older-than 30 --as ops.olu
[ "$(cat "$T/out")" = 2 ] || fail "purge removed $(cat "$T/out"), want 2"
[ "$(sql "SELECT count(*) FROM quarantine")" = 1 ] || fail "purge left the wrong rows"
[ "$(sql "SELECT json_extract(record, '$.extra.rows') FROM audit_log WHERE type = 'PURGE' AND actor = 'ops.olu'")" = 2 ] ||
  fail "no PURGE record for 2 rows"
expect 0 "$B/mashctl" quarantine purge --db "$T/mash.db" --older-than 30 --as ops.olu
[ "$(cat "$T/out")" = 0 ] || fail "a second purge removed $(cat "$T/out")"
[ "$(sql "SELECT count(*) FROM audit_log WHERE type = 'PURGE'")" = 1 ] || fail "an empty purge was recorded"

# mashd's own retention (quarantine.retention_days, default 30): at its
# first tick (after it reached a broker) it purges what is older, with a
# PURGE record of its own.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
mash_start_mosquitto "$T" || fail "mosquitto did not start"
PORT=$MOSQ_PORT
sed -i "s|tcp://127.0.0.1:1|tcp://127.0.0.1:$PORT|" "$T/mashd.cfg"
sql "INSERT INTO quarantine(id, topic, agency, received_at, err, errname, reason, bytes, orig_len, truncated) VALUES (7, CAST('t' AS BLOB), 'yot', $old, -5, 'DECODE', 'x', X'00', 1, 0) RETURNING id" >/dev/null
"$B/mashd" --config "$T/mashd.cfg" >"$T/mashd.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
  [ "$(sql "SELECT count(*) FROM audit_log WHERE type = 'PURGE' AND actor = 'mashd'" 2>/dev/null || echo 0)" = 1 ] && break
  sleep 0.1
done
kill -TERM "$PID"; wait "$PID" || true; PID=
[ "$(sql "SELECT count(*) FROM audit_log WHERE type = 'PURGE' AND actor = 'mashd' AND json_extract(record, '$.extra.rows') = 1")" = 1 ] ||
  fail "mashd did not purge the old message: $(tail -5 "$T/mashd.log")"
[ "$(sql "SELECT count(*) FROM quarantine")" = 1 ] || fail "mashd purged the wrong rows"
expect 0 "$B/mashctl" audit verify --db "$T/mash.db" --trust "$T/trust"
echo "it_quarantine: OK"

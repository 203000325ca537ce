#!/usr/bin/env bash
# Issue 28 (part 1): mashd's store encrypted at rest under store_key_file.
# The key file is made by `mashctl key new` (0600, never overwritten); a
# missing key file, one that group or others can read, and another store's
# key file are each one line naming the file, exit 2, and nothing written;
# without store_key_file an encrypted store is refused. A real mashd start
# encrypts a new store: its wrapped keys are in the file, not the key file.
set -euo pipefail
B=${MASH_BIN_DIR:?}
T=$(mktemp -d /tmp/mash-storekey-XXXXXX)
PID=
cleanup() { [ -z "$PID" ] || kill -9 "$PID" 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "it_store_key: FAIL: $*" >&2; exit 1; }
expect() {
  local want=$1; shift
  set +e; timeout 30 "$@" >"$T/out" 2>"$T/err"; local rc=$?; set -e
  [ "$rc" -eq "$want" ] || fail "$* -> exit $rc, want $want; stderr: $(cat "$T/err")"
}
says() { grep -qF -- "$1" "$T/err" || fail "stderr lacks '$1': $(cat "$T/err")"; }
one_line() {
  local n; n=$(grep -c 'error' "$T/err" || true)
  [ "$n" -eq 1 ] || fail "want one error line, got $n: $(cat "$T/err")"
}
sums() { cat "$T"/mash.db* 2>/dev/null | sha256sum; }

# The key file: 0600 whatever the umask, never replaced.
(umask 0; expect 0 "$B/mashctl" key new --out "$T/store.key")
[ "$(stat -c %a "$T/store.key")" = 600 ] || fail "store.key is $(stat -c %a "$T/store.key")"
grep -qE '^[0-9a-f]{64}$' "$T/store.key" || fail "store.key is not 64 hex digits"
cp "$T/store.key" "$T/store.key.orig"
expect 1 "$B/mashctl" key new --out "$T/store.key"
says "$T/store.key"
cmp -s "$T/store.key" "$T/store.key.orig" || fail "key new overwrote a key file"
expect 2 "$B/mashctl" key new
expect 0 "$B/mashctl" key new --out "$T/other.key"

"$B/mashctl" keygen --signer mashd --key-id k1 --out "$T/keys" >/dev/null 2>&1
"$B/mashctl" trust add --store "$T/trust" --signer mashd --key-id k1 \
  --pub "$T/keys/k1.pub.pem" >/dev/null 2>&1
config() { # config KEYFILE (empty: none)
  cat >"$T/mashd.cfg" <<CFG
mqtt = { uri = "tcp://127.0.0.1:1"; client_id = "mashd-storekey"; insecure = true; };
signer = "mashd";
key_id = "k1";
key_file = "$T/keys/k1.key.pem";
trust_store = "$T/trust";
store = "$T/mash.db";
CFG
  [ -z "$1" ] || echo "store_key_file = \"$1\";" >>"$T/mashd.cfg"
}

# Missing, too open: exit 2 naming the file, for start-up and --check, and
# no store is created.
config "$T/gone.key"
expect 2 "$B/mashd" --config "$T/mashd.cfg"
says "store_key_file: key file $T/gone.key: No such file"; one_line
expect 2 "$B/mashd" --config "$T/mashd.cfg" --check
says "$T/gone.key"
cp "$T/store.key" "$T/open.key"; chmod 644 "$T/open.key"
config "$T/open.key"
expect 2 "$B/mashd" --config "$T/mashd.cfg"
says "key file $T/open.key: mode 0644 lets group or others at it"; one_line
[ ! -e "$T/mash.db" ] || fail "a refused key file left a store behind"

# A good key: --check writes nothing; a start makes the store, encrypted.
config "$T/store.key"
expect 0 "$B/mashd" --config "$T/mashd.cfg" --check
[ ! -e "$T/mash.db" ] || fail "--check created the store"
"$B/mashd" --config "$T/mashd.cfg" >"$T/mashd.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
  n=$(/usr/bin/python3 - "$T/mash.db" <<'PY' 2>/dev/null || true
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(c.execute("SELECT count(*) FROM meta WHERE key = 'atrest.keys'").fetchone()[0])
PY
)
  [ "$n" = 1 ] && break
  sleep 0.1
done
[ "$n" = 1 ] || fail "mashd did not encrypt its new store: $(cat "$T/mashd.log")"
kill -TERM "$PID"; wait "$PID" || true; PID=
grep -qF "$(cat "$T/store.key")" "$T/mash.db" && fail "the key is in the store file"
before=$(sums)

# Another store's key file, and no key file: refused, nothing written.
config "$T/other.key"
expect 2 "$B/mashd" --config "$T/mashd.cfg"
says "store_key_file $T/other.key: not the key of store $T/mash.db"; one_line
expect 2 "$B/mashd" --config "$T/mashd.cfg" --check
says "not the key of store"
config ""
expect 2 "$B/mashd" --config "$T/mashd.cfg"
says "is encrypted at rest: set store_key_file"
[ "$(sums)" = "$before" ] || fail "a refused start changed the store"
# The right key still opens it.
config "$T/store.key"
expect 0 "$B/mashd" --config "$T/mashd.cfg" --check

# Rotation: the store moves to a new key file in one audited step; the
# old file no longer opens it, and the audit trail still verifies.
"$B/mashctl" key new --out "$T/store2.key" >/dev/null 2>&1
expect 2 "$B/mashctl" key rotate --db "$T/mash.db" --key "$T/other.key" --new-key "$T/store2.key"
says "$T/other.key is not the key of store"
expect 2 "$B/mashctl" key rotate --db "$T/mash.db" --key "$T/store.key" --new-key "$T/store.key"
says "same key"
expect 2 "$B/mashctl" key rotate --db "$T/nope.db" --key "$T/store.key" --new-key "$T/store2.key"
says "no such store"
[ ! -e "$T/nope.db" ] || fail "key rotate created a store"
[ "$(sums)" = "$before" ] || fail "a refused rotation changed the store"
expect 0 "$B/mashctl" key rotate --db "$T/mash.db" --key "$T/store.key" --new-key "$T/store2.key"
says "(KEY_CHANGE)"
config "$T/store.key"
expect 2 "$B/mashd" --config "$T/mashd.cfg" --check
says "not the key of store"
config "$T/store2.key"
expect 0 "$B/mashd" --config "$T/mashd.cfg" --check
expect 0 "$B/mashctl" audit verify --db "$T/mash.db" --trust "$T/trust"
n=$(/usr/bin/python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM audit_log WHERE type = '"'"'KEY_CHANGE'"'"' AND actor = '"'"'mashctl'"'"'").fetchone()[0])' "$T/mash.db")
[ "$n" = 1 ] || fail "want one KEY_CHANGE record for the rotation, got $n"

# An agent's outbox: the same rules for agent.outbox.key_file.
"$B/mashctl" keygen --signer police --key-id k1 --out "$T/keys-police" >/dev/null 2>&1
"$B/mashctl" trust add --store "$T/trust" --signer police --key-id k1 \
  --pub "$T/keys-police/k1.pub.pem" >/dev/null 2>&1
: >"$T/feed.csv"
agent_config() { # agent_config KEYFILE (empty: none)
  local k=""
  [ -z "$1" ] || k="key_file = \"$1\";"
  cat >"$T/agent.cfg" <<CFG
agent = {
  mqtt = { uri = "tcp://127.0.0.1:1"; client_id = "a"; insecure = true; };
  signer = { key_id = "k1"; key_file = "$T/keys-police/k1.key.pem"; };
  receipts = { trust_store = "$T/trust"; };
  outbox = { path = "$T/outbox.db"; $k };
  timeouts = { connect_ms = 300; };
};
CFG
}
AGENT=("$B/mash-agent" --config "$T/agent.cfg" --agency police --input "$T/feed.csv")
agent_config "$T/gone.key"
expect 2 "${AGENT[@]}"
says "agent.outbox.key_file: key file $T/gone.key: No such file"
agent_config "$T/open.key"
expect 2 "${AGENT[@]}"
says "mode 0644"
[ ! -e "$T/outbox.db" ] || fail "a refused key file left an outbox behind"
"$B/mashctl" key new --out "$T/police.key" >/dev/null 2>&1
agent_config "$T/police.key"
set +e; timeout 30 "$B/mash-agent" --config "$T/agent.cfg" --agency police \
  --input "$T/feed.csv" >/dev/null 2>"$T/err"; set -e
[ "$(/usr/bin/python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM mash_outbox_keys").fetchone()[0])' "$T/outbox.db")" = 1 ] ||
  fail "the agent did not encrypt its outbox: $(cat "$T/err")"
[ "$(stat -c %a "$T/outbox.db")" = 600 ] || fail "outbox.db is $(stat -c %a "$T/outbox.db")"
agent_config ""
expect 2 "${AGENT[@]}"
says "encrypted at rest: set agent.outbox.key_file"
agent_config "$T/other.key"
expect 2 "${AGENT[@]}"
says "agent.outbox.key_file is not its key"
# Rotating the outbox's key: another key is refused, a missing outbox is
# not created, and afterwards only the new key opens it.
"$B/mashctl" key new --out "$T/police2.key" >/dev/null 2>&1
expect 2 "$B/mashctl" key rotate --outbox "$T/outbox.db" --key "$T/other.key" --new-key "$T/police2.key"
says "$T/other.key is not the key of outbox"
expect 2 "$B/mashctl" key rotate --outbox "$T/nope.db" --key "$T/police.key" --new-key "$T/police2.key"
says "no such outbox"
[ ! -e "$T/nope.db" ] || fail "key rotate created an outbox"
expect 0 "$B/mashctl" key rotate --outbox "$T/outbox.db" --key "$T/police.key" --new-key "$T/police2.key"
says "outbox $T/outbox.db rotated"
agent_config "$T/police.key"
expect 2 "${AGENT[@]}"
says "agent.outbox.key_file is not its key"
echo "it_store_key: OK"

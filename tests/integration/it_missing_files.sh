#!/usr/bin/env bash
# Issue 23: what a person gets wrong in a file name or a config key is
# named, with the file (and line), and exits 2 (shared/spec/cli.md:
# unreadable input) in every binary: never "input/output error", never a
# setting silently left at its default.
set -euo pipefail
B=${MASH_BIN_DIR:?}
T=$(mktemp -d /tmp/mash-missing-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "it_missing_files: FAIL: $*" >&2; exit 1; }
# expect CODE CMD...: run (bounded), compare exit code, keep stderr.
expect() {
  local want=$1; shift
  set +e; timeout 30 "$@" >"$T/out" 2>"$T/err"; local rc=$?; set -e
  [ "$rc" -eq "$want" ] || fail "$* -> exit $rc, want $want; stderr: $(cat "$T/err")"
}
says() { grep -qF -- "$1" "$T/err" || fail "stderr lacks '$1': $(cat "$T/err")"; }

"$B/mashctl" keygen --signer police --key-id k1 --out "$T/keys" >/dev/null
"$B/mashctl" trust add --store "$T/trust" --signer police --key-id k1 \
  --pub "$T/keys/k1.pub.pem" >/dev/null
: >"$T/feed.csv"

# mash-agent: a missing config, a misspelt key, a missing signing key.
expect 2 "$B/mash-agent" --config "$T/nope.cfg" --agency police --input "$T/feed.csv"
says "$T/nope.cfg: no such file"
cat >"$T/agent.cfg" <<CFG
agent = {
  mqtt = { uri = "tcp://127.0.0.1:1"; client_id = "a"; insecure = true; };
  signer = { key_id = "k1"; key_file = "$T/keys/k1.key.pem"; };
  receipts = { trust_store = "$T/trust"; };
  outbox = { path = "$T/outbox.db"; };
  timeouts = {
    conect_ms = 500; };
};
CFG
expect 2 "$B/mash-agent" --config "$T/agent.cfg" --agency police --input "$T/feed.csv"
says "$T/agent.cfg:7: unknown setting 'agent.timeouts.conect_ms'"
sed -i 's/conect_ms = 500; };/connect_ms = 500; };/; s|k1.key.pem|gone.key.pem|' "$T/agent.cfg"
expect 2 "$B/mash-agent" --config "$T/agent.cfg" --agency police --input "$T/feed.csv"
says "signing key $T/keys/gone.key.pem: no such file"

# mashd: a missing signing key is unreadable input (2), not a crash (1).
cat >"$T/mashd.cfg" <<CFG
mqtt = { uri = "tcp://127.0.0.1:1"; client_id = "mashd-missing"; insecure = true; };
signer = "mashd";
key_id = "k1";
key_file = "$T/keys/gone.key.pem";
trust_store = "$T/trust";
store = "$T/mash.db";
CFG
expect 2 "$B/mashd" --config "$T/mashd.cfg"
says "key_file $T/keys/gone.key.pem: no such file"
# ... and so is it for --check, which answers as start-up would.
expect 2 "$B/mashd" --config "$T/mashd.cfg" --check
says "no such file"
# Without tzdata for Europe/London no statutory clock could be placed in
# a working day: mashd refuses to start rather than fall back to UTC.
TZDIR="$T/no-zoneinfo" expect 1 "$B/mashd" --config "$T/mashd.cfg"
says "no time zone data for Europe/London"

# mashctl: a missing public key for audit verify.
expect 2 "$B/mashctl" envelope seal --signer police --key-id k1 \
  --key "$T/keys/gone.key.pem" --type mash.v1.AgencyEvent --in "$T/feed.csv" --out "$T/x"
says "$T/keys/gone.key.pem: no such file"
echo "it_missing_files: OK"

#!/usr/bin/env bash
# Issue 23: every binary answers --version with the version CMake's
# project(VERSION) gives, exits 0, and mashd logs it when it starts.
set -euo pipefail
B=${MASH_BIN_DIR:?}
S=${MASH_SOURCE_DIR:?}
fail() { echo "it_version: FAIL: $*" >&2; exit 1; }
want=$(sed -n 's/^project(mash VERSION \([0-9.]*\).*/\1/p' "$S/CMakeLists.txt")
[ -n "$want" ] || fail "no project(VERSION) in CMakeLists.txt"
for b in mashd mash-agent mashctl; do
  out=$(timeout 10 "$B/$b" --version) || fail "$b --version exited $?"
  [ "$out" = "$b $want" ] || fail "$b --version printed '$out', want '$b $want'"
done
# mashd says which version starts before anything else can fail.
T=$(mktemp -d /tmp/mash-version-XXXXXX)
trap 'rm -rf "$T"' EXIT
cat >"$T/mashd.cfg" <<CFG
mqtt = { uri = "tcp://127.0.0.1:1"; client_id = "mashd-version"; insecure = true; };
signer = "mashd";
key_id = "k1";
key_file = "$T/missing.key.pem";
trust_store = "$T/trust";
store = "$T/mash.db";
log_level = "info";
CFG
set +e; timeout 30 "$B/mashd" --config "$T/mashd.cfg" 2>"$T/err"; set -e
grep -q "mashd $want starting" "$T/err" || fail "no version line at start-up: $(cat "$T/err")"
echo "it_version: OK"

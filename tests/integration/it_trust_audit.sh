#!/usr/bin/env bash
# Issue 28: `mashctl trust add|revoke --db STORE` records the change as a
# KEY_CHANGE audit record in that store at once (mashd records it again
# when a SIGHUP puts it in force: it_daemon_ingest); a --db that names no
# store changes nothing; without --db it says who will record it.
set -euo pipefail
B=${MASH_BIN_DIR:?}
T=$(mktemp -d /tmp/mash-trust-audit-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "it_trust_audit: FAIL: $*" >&2; exit 1; }
expect() {
  local want=$1; shift
  set +e; timeout 30 "$@" >"$T/out" 2>"$T/err"; local rc=$?; set -e
  [ "$rc" -eq "$want" ] || fail "$* -> exit $rc, want $want; stderr: $(cat "$T/err")"
}
says() { grep -qF -- "$1" "$T/err" || fail "stderr lacks '$1': $(cat "$T/err")"; }
count() { /usr/bin/python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM audit_log WHERE type = '"'"'KEY_CHANGE'"'"' AND actor = '"'"'mashctl'"'"' AND json_extract(record, '"'"'$.extra.change'"'"') = ?", (sys.argv[2],)).fetchone()[0])' "$T/mash.db" "$1"; }

"$B/mashctl" keygen --signer yot --key-id k1 --out "$T/keys" >/dev/null 2>&1
# --db naming no store: refused before the trust store is touched, and no
# store is created.
expect 2 "$B/mashctl" trust add --store "$T/trust" --signer yot --key-id k1 \
  --pub "$T/keys/k1.pub.pem" --db "$T/mash.db"
says "no such store (nothing changed)"
[ ! -e "$T/trust/yot/k1.pub.pem" ] || fail "the key was added although --db was refused"
[ ! -e "$T/mash.db" ] || fail "trust --db created a store"
# An existing (empty) SQLite file: the store migrates it on open.
/usr/bin/python3 -c 'import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute("PRAGMA user_version = 0")' "$T/mash.db"
expect 0 "$B/mashctl" trust add --store "$T/trust" --signer yot --key-id k1 \
  --pub "$T/keys/k1.pub.pem" --db "$T/mash.db"
says "(KEY_CHANGE)"
[ "$(count added)" = 1 ] || fail "want one KEY_CHANGE added, got $(count added)"
expect 0 "$B/mashctl" trust revoke --store "$T/trust" --signer yot --key-id k1 --db "$T/mash.db"
[ "$(count revoked)" = 1 ] || fail "want one KEY_CHANGE revoked, got $(count revoked)"
"$B/mashctl" keygen --signer yot --key-id k2 --out "$T/keys" >/dev/null 2>&1
expect 0 "$B/mashctl" trust add --store "$T/trust" --signer yot --key-id k2 --pub "$T/keys/k2.pub.pem"
says "mashd records the change (KEY_CHANGE) when a SIGHUP puts it in force"
expect 0 "$B/mashctl" audit verify --db "$T/mash.db"
echo "it_trust_audit: OK"

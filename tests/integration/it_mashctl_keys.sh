#!/usr/bin/env bash
# mashctl keygen / trust / envelope per shared/spec/cli.md: files, modes,
# exit codes (0 ok, 1 failed check, 2 bad usage or unreadable input), one
# line on stderr saying what went wrong, --help on every command.
set -euo pipefail
M=${MASH_BIN_DIR:?}/mashctl
T=$(mktemp -d /tmp/mash-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "it_mashctl_keys: FAIL: $*" >&2; exit 1; }
# expect CODE CMD...: run, compare exit code, keep stderr in $T/err.
expect() {
  local want=$1; shift
  set +e; "$@" >"$T/out" 2>"$T/err"; local rc=$?; set -e
  [ "$rc" -eq "$want" ] || fail "$* -> exit $rc, want $want; stderr: $(cat "$T/err")"
}

for c in "keygen --help" "trust --help" "trust add --help" "envelope --help" "--help"; do
  expect 0 $M $c
  grep -q usage "$T/out" || fail "mashctl $c: no usage on stdout"
done
expect 2 $M
expect 2 $M frobnicate
expect 2 $M keygen --signer police
expect 2 $M keygen --signer Police --key-id p1 --out "$T/k"
grep -q 'not \[a-z0-9._-\]' "$T/err" || fail "bad signer message: $(cat "$T/err")"
expect 2 $M keygen --signer police --key-id p1 --out "$T/k" extra

expect 0 $M keygen --signer police --key-id p1 --out "$T/k"
[ "$(stat -c %a "$T/k/p1.key.pem")" = 600 ] || fail "private key mode $(stat -c %a "$T/k/p1.key.pem")"
[ "$(stat -c %a "$T/k")" = 700 ] || fail "key dir mode"
grep -q 'BEGIN PRIVATE KEY' "$T/k/p1.key.pem" || fail "not PKCS#8"
grep -q 'BEGIN PUBLIC KEY' "$T/k/p1.pub.pem" || fail "not SPKI"
openssl pkey -in "$T/k/p1.key.pem" -noout -text 2>/dev/null | grep -q ED25519 || fail "openssl does not read an Ed25519 key"
cp "$T/k/p1.key.pem" "$T/before"
expect 1 $M keygen --signer police --key-id p1 --out "$T/k"
grep -q 'already exists' "$T/err" || fail "exists message: $(cat "$T/err")"
cmp -s "$T/before" "$T/k/p1.key.pem" || fail "existing key overwritten"

S="$T/store"
expect 2 $M trust list --store "$S"                      # no store yet
expect 2 $M trust add --store "$S" --signer police --key-id p1
expect 2 $M trust add --store "$S" --signer police --key-id p1 --pub "$T/nope.pem"
expect 2 $M trust add --store "$S" --signer police --key-id p1 --pub "$T/k/p1.key.pem"
grep -q 'not a valid Ed25519' "$T/err" || fail "private key as --pub: $(cat "$T/err")"
expect 0 $M trust add --store "$S" --signer police --key-id p1 --pub "$T/k/p1.pub.pem"
expect 1 $M trust add --store "$S" --signer police --key-id p1 --pub "$T/k/p1.pub.pem"
expect 0 $M trust list --store "$S"
grep -qx "police	p1	active" "$T/out" || fail "list: $(cat "$T/out")"
expect 2 $M trust frob --store "$S"

printf 'payload' >"$T/p"
expect 0 $M envelope seal --key "$T/k/p1.key.pem" --signer police --key-id p1 --type mash.v1.AgencyEvent --in "$T/p" --out "$T/e"
expect 0 $M envelope verify --trust "$S" --file "$T/e" --signer police --type mash.v1.AgencyEvent
expect 1 $M envelope verify --trust "$S" --file "$T/e" --signer health
grep -q SIGNER_MISMATCH "$T/err" || fail "signer mismatch message: $(cat "$T/err")"
expect 1 $M envelope verify --trust "$S" --file "$T/e" --type mash.v1.Receipt
grep -q PAYLOAD_TYPE "$T/err" || fail "type message"
head -c 300000 /dev/zero >"$T/big"
expect 1 $M envelope verify --trust "$S" --file "$T/big"
grep -q TOO_BIG "$T/err" || fail "too big message: $(cat "$T/err")"
printf '\xff\xff\xff' >"$T/junk"
expect 1 $M envelope verify --trust "$S" --file "$T/junk"
grep -q DECODE "$T/err" || fail "decode message: $(cat "$T/err")"
expect 2 $M envelope verify --trust "$S" --file "$T/missing"
expect 2 $M envelope verify --trust "$T/nostore" --file "$T/e"

expect 1 $M trust revoke --store "$S" --signer police --key-id p9
grep -q 'not in the store' "$T/err" || fail "revoke unknown: $(cat "$T/err")"
expect 0 $M trust revoke --store "$S" --signer police --key-id p1
expect 0 $M trust list --store "$S"
grep -q "^police	p1	revoked	20" "$T/out" || fail "list after revoke: $(cat "$T/out")"
expect 1 $M envelope verify --trust "$S" --file "$T/e"
grep -q REVOKED_KEY "$T/err" || fail "revoked message"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "stderr not one line: $(cat "$T/err")"

# Encryption keys for principals (issue 25): X25519, private 0600; the
# public half is a directory entry's enc_key; the trust store refuses it.
expect 0 $M keygen --kind x25519 --signer analyst.amara --key-id e1 --out "$T/enc"
[ "$(stat -c %a "$T/enc/e1.key.pem")" = 600 ] || fail "x25519 private key not 0600"
openssl pkey -pubin -in "$T/enc/e1.pub.pem" -noout -text 2>/dev/null | grep -q X25519 ||
	fail "not an X25519 public key"
expect 2 $M keygen --kind rsa --signer a --key-id e2 --out "$T/enc"
expect 2 $M trust add --store "$S" --signer analyst.amara --key-id e1 --pub "$T/enc/e1.pub.pem"
cat >"$T/dir.cfg" <<EOF
principals = ( { name = "analyst.amara"; role = "mash-analyst"; agency = "social-care";
                 enc_key = "enc/e1.pub.pem"; } );
EOF
expect 0 $M acl generate --directory "$T/dir.cfg"
cat >"$T/dir.cfg" <<EOF
principals = ( { name = "analyst.amara"; role = "mash-analyst"; agency = "social-care";
                 enc_key = "enc/e1.key.pem"; } );
EOF
expect 2 $M acl generate --directory "$T/dir.cfg"
grep -q "dir.cfg:2: principal 'analyst.amara': enc_key is not an X25519" "$T/err" ||
	fail "malformed enc_key message: $(cat "$T/err")"
# A principal named as an agency would get that agency's broker rights.
printf 'principals = ( { name = "police"; role = "auditor"; agency = "mash"; } );\n' >"$T/dir.cfg"
expect 2 $M acl generate --directory "$T/dir.cfg"
grep -q "principal 'police' has the name of an agency" "$T/err" || fail "clash (acl): $(cat "$T/err")"
expect 2 $M pki issue --dir "$T/pki" --directory "$T/dir.cfg"
grep -q "principal 'police' has the name of an agency" "$T/err" || fail "clash (pki): $(cat "$T/err")"
echo "it_mashctl_keys: ok"

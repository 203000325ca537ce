#!/usr/bin/env bash
# Issue 29 (part 1): `mashctl console user add|passwd|remove`. Passwords
# come on standard input or from a file, never on the command line; the
# accounts file is 0600 and holds no password and no private key; a taken
# name, a wrong old password and an unknown user each fail with exit 1; a
# short password, a missing key file or a key of the wrong kind exit 2.
set -euo pipefail
B=${MASH_BIN_DIR:?}
T=$(mktemp -d /tmp/mash-console-users-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "it_console_users: FAIL: $*" >&2; exit 1; }
expect() { # expect CODE STDIN CMD...
  local want=$1 input=$2; shift 2
  set +e; printf '%s' "$input" | timeout 60 "$@" >"$T/out" 2>"$T/err"; local rc=$?; set -e
  [ "$rc" -eq "$want" ] || fail "$* -> exit $rc, want $want; stderr: $(cat "$T/err")"
}
says() { grep -qF -- "$1" "$T/err" || fail "stderr lacks '$1': $(cat "$T/err")"; }

"$B/mashctl" keygen --signer analyst.amara --key-id k1 --out "$T/sign" >/dev/null 2>&1
"$B/mashctl" keygen --kind x25519 --signer analyst.amara --key-id e1 --out "$T/enc" >/dev/null 2>&1
A=(--accounts "$T/accounts.json")
ADD=("$B/mashctl" console user add "${A[@]}" --principal analyst.amara
     --sign-key "$T/sign/k1.key.pem" --enc-key "$T/enc/e1.key.pem")

expect 0 "correct horse battery
" "${ADD[@]}" --name amara
says "user amara added"
[ "$(stat -c %a "$T/accounts.json")" = 600 ] || fail "accounts file is $(stat -c %a "$T/accounts.json")"
grep -q "correct horse" "$T/accounts.json" && fail "the password is in the file"
grep -q "PRIVATE KEY" "$T/accounts.json" && fail "a private key is in the file"
expect 1 "correct horse battery
" "${ADD[@]}" --name amara
says "user amara exists"
expect 2 "short
" "${ADD[@]}" --name sam
says "a password has 12 to 1024 characters"
expect 2 "" "${ADD[@]}" --name sam
says "no password given"
expect 2 "correct horse battery
" "$B/mashctl" console user add "${A[@]}" --name sam --principal sw.sam \
  --sign-key "$T/enc/e1.key.pem" --enc-key "$T/enc/e1.key.pem"
says "$T/enc/e1.key.pem"
expect 2 "correct horse battery
" "$B/mashctl" console user add "${A[@]}" --name sam --principal sw.sam \
  --sign-key "$T/gone.pem" --enc-key "$T/enc/e1.key.pem"
says "$T/gone.pem: no such file"

printf 'wrong horse battery\nanother long passphrase\n' >"$T/pw"
expect 1 "" "$B/mashctl" console user passwd "${A[@]}" --name amara --password-file "$T/pw"
says "wrong user name or password"
expect 1 "" "$B/mashctl" console user passwd "${A[@]}" --name nobody --password-file "$T/pw"
says "wrong user name or password"
printf 'correct horse battery\nanother long passphrase\n' >"$T/pw"
expect 0 "" "$B/mashctl" console user passwd "${A[@]}" --name amara --password-file "$T/pw"
says "password changed"
expect 0 "" "$B/mashctl" console user remove "${A[@]}" --name amara
expect 1 "" "$B/mashctl" console user remove "${A[@]}" --name amara
says "no user amara"
echo "it_console_users: OK"

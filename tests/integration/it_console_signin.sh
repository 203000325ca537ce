#!/usr/bin/env bash
# Issue 29 (part 2): mash-console's HTTPS sign-in against a real server on
# a free loopback port, certificate from `mashctl pki`. A wrong password
# and an unknown user get the same 401 and no cookie; the right one a 303
# with an HttpOnly, Secure, SameSite=Strict session cookie; the signed-in
# page names the principal; a forged cookie gets nothing; sign-out needs
# the form's CSRF token and ends the session; five failures lock the name
# (429) even for the right password; SIGTERM stops it with exit 0.
set -euo pipefail
B=${MASH_BIN_DIR:?}
T=$(mktemp -d /tmp/mash-console-XXXXXX)
PID=
cleanup() { [ -z "$PID" ] || kill -9 "$PID" 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "it_console_signin: FAIL: $*" >&2; exit 1; }

"$B/mashctl" pki init --dir "$T/pki" >/dev/null 2>&1
"$B/mashctl" pki issue --dir "$T/pki" --name console --server --host 127.0.0.1 >/dev/null 2>&1
"$B/mashctl" keygen --signer analyst.amara --key-id k1 --out "$T/sign" >/dev/null 2>&1
"$B/mashctl" keygen --kind x25519 --signer analyst.amara --key-id e1 --out "$T/enc" >/dev/null 2>&1
for u in amara brook; do
  printf 'correct horse battery\n' | "$B/mashctl" console user add \
    --accounts "$T/accounts.json" --name "$u" --principal analyst.amara \
    --sign-key "$T/sign/k1.key.pem" --enc-key "$T/enc/e1.key.pem" >/dev/null 2>&1
done
cat >"$T/console.cfg" <<CFG
console = {
  listen = "127.0.0.1"; port = 0;
  cert_file = "$T/pki/console.pem"; key_file = "$T/pki/console.key";
  accounts = "$T/accounts.json"; idle_timeout_s = 900;
};
CFG
"$B/mash-console" --config "$T/console.cfg" 2>"$T/console.log" &
PID=$!
PORT=
for _ in $(seq 1 100); do
  PORT=$(sed -n 's|.*listening on https://127.0.0.1:\([0-9]*\)/.*|\1|p' "$T/console.log")
  [ -n "$PORT" ] && break
  kill -0 "$PID" 2>/dev/null || fail "mash-console exited: $(cat "$T/console.log")"
  sleep 0.1
done
[ -n "$PORT" ] || fail "mash-console did not say where it listens"

timeout 120 /usr/bin/python3 - "$PORT" "$T/pki/ca.pem" <<'PY' || fail "see above"
import http.client, re, ssl, sys, urllib.parse
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
def req(method, path, form=None, cookie=None):
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
    h = {}
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        h["Content-Type"] = "application/x-www-form-urlencoded"
    if cookie:
        h["Cookie"] = "mash_session=" + cookie
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    out = (r.status, dict(r.getheaders()), r.read().decode())
    c.close()
    return out
def check(cond, what):
    if not cond:
        print("it_console_signin: FAIL:", what, file=sys.stderr)
        sys.exit(1)
s, h, b = req("GET", "/")
check(s == 200 and 'name="password"' in b, "sign-in form")
check(h.get("Cache-Control") == "no-store", "no-store")
s1, h1, b1 = req("POST", "/signin", {"user": "amara", "password": "wrong horse battery"})
s2, h2, b2 = req("POST", "/signin", {"user": "nobody", "password": "correct horse battery"})
check(s1 == 401 and s2 == 401 and b1 == b2, "wrong password and unknown user alike: %d %d" % (s1, s2))
check("Set-Cookie" not in h1 and "Set-Cookie" not in h2, "no cookie on failure")
s, h, b = req("POST", "/signin", {"user": "amara", "password": "correct horse battery"})
check(s == 303 and h.get("Location") == "/inbox", "signed in: %d" % s)
ck = h.get("Set-Cookie", "")
for flag in ("HttpOnly", "Secure", "SameSite=Strict"):
    check(flag in ck, "cookie flag " + flag)
sid = re.match(r"mash_session=([0-9a-f]{64});", ck)
check(sid is not None, "session id of 64 hex digits")
sid = sid.group(1)
s, h, b = req("GET", "/inbox", cookie=sid)
check(s == 200 and "analyst.amara" in b and "amara" in b, "inbox names the principal")
csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', b).group(1)
s, h, b = req("GET", "/inbox", cookie="0" * 64)
check(s == 303 and h.get("Location") == "/", "forged cookie gets nothing")
s, h, b = req("GET", "/inbox")
check(s == 303, "no cookie gets nothing")
s, h, b = req("POST", "/signout", {"csrf": "0" * 64}, cookie=sid)
check(s == 403, "sign-out without the right CSRF token refused: %d" % s)
s, h, b = req("GET", "/inbox", cookie=sid)
check(s == 200, "the session survived a refused sign-out")
s, h, b = req("POST", "/signout", {"csrf": csrf}, cookie=sid)
check(s == 303, "sign-out")
s, h, b = req("GET", "/inbox", cookie=sid)
check(s == 303, "the session is gone after sign-out")
for i in range(5):
    s, h, b = req("POST", "/signin", {"user": "brook", "password": "wrong horse battery %d" % i})
    check(s == 401, "failure %d" % i)
s, h, b = req("POST", "/signin", {"user": "brook", "password": "correct horse battery"})
check(s == 429 and "Set-Cookie" not in h, "locked after five failures: %d" % s)
s, h, b = req("POST", "/signin", {"user": "amara", "password": "correct horse battery"})
check(s == 303, "another name is not locked")
s, h, b = req("GET", "/nope")
check(s == 404, "unknown path")
PY
grep -q "correct horse" "$T/console.log" && fail "a password reached the log"
kill -TERM "$PID"
set +e; wait "$PID"; rc=$?; set -e
PID=
[ "$rc" -eq 0 ] || fail "mash-console exited $rc on SIGTERM"
echo "it_console_signin: OK"

#!/usr/bin/env bash
# Issue 29 (part 3): a signed-in person's inbox in the web console, live,
# over the whole product. The demo (scripts/demo.sh) runs in hold mode:
# mutual-TLS mosquitto with the generated ACL, mashd, the agents' story,
# and mash-console with two users. Then, as the social worker (user sam,
# principal sw.sam):
#  - /api/inbox and /api/events refuse anyone not signed in (401);
#  - signing in opens sw.sam's own link to the hub, with sw.sam's
#    certificate (the ACL lets no one else read that inbox);
#  - a new police event about the child, sent by the police agent, reaches
#    the open event stream as an opened SharedRecord naming that event,
#    and /api/inbox lists it: mashd sealed it to sw.sam, the console
#    verified mashd's signature and opened it with sw.sam's key;
#  - sign-out ends the stream and closes the link;
#  - the console's log holds no name, NHS number, postcode or summary.
# Every wait is bounded; the demo stops everything it started.
set -u -o pipefail

: "${MASH_SOURCE_DIR:?MASH_SOURCE_DIR not set}" "${MASH_BUILD_DIR:?MASH_BUILD_DIR not set}"
: "${MASH_BIN_DIR:=$MASH_BUILD_DIR/bin}"
export MASH_BIN_DIR
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mash-it-console-inbox-XXXXXX")
DEMO_PID=""
FAILS=0
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cleanup() {
	mash_demo_release "$TMP" >/dev/null 2>&1
	rm -rf -- "$TMP"
}
trap cleanup EXIT

fail() {
	echo "it_console_inbox: FAIL: $*" >&2
	FAILS=$((FAILS + 1))
}

if ! mash_demo_hold "$TMP"; then
	echo "it_console_inbox: FAIL: the demo never reached its hold" >&2
	exit 1
fi
PORT=$CONSOLE_PORT
# A new police event about the demo's child (a new event id), and the
# script that sends it with the demo's police agent.
EVENT_ID=$(mash_new_police_event "$DEMO" "$TMP")

timeout 180 /usr/bin/python3 - "$PORT" "$DEMO/pki/ca.pem" \
	"$DEMO/console-password" "$EVENT_ID" "$TMP/send.sh" <<'PY' || fail "see above"
import http.client, json, re, ssl, subprocess, sys, threading, time, urllib.parse
port, ca, pwfile, event_id, send = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
password = open(pwfile).read().strip()
ctx = ssl.create_default_context(cafile=ca)
fails = []
def check(cond, what):
    if not cond:
        print("it_console_inbox: FAIL:", what, file=sys.stderr)
        fails.append(what)
    return cond
def conn():
    return http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=60)
def req(method, path, form=None, cookie=None):
    c = conn()
    h, body = {}, None
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

s, _, _ = req("GET", "/api/inbox")
check(s == 401, "/api/inbox without a session: %d" % s)
s, _, _ = req("GET", "/api/events")
check(s == 401, "/api/events without a session: %d" % s)
s, h, _ = req("POST", "/signin", {"user": "sam", "password": password})
if not check(s == 303, "sam signs in: %d" % s):
    sys.exit(1)
sid = re.match(r"mash_session=([0-9a-f]{64});", h.get("Set-Cookie", "")).group(1)
s, h, b = req("GET", "/api/inbox", cookie=sid)
check(s == 200 and h.get("Content-Type") == "application/json", "inbox JSON: %d" % s)
inbox = json.loads(b)
check(inbox["principal"] == "sw.sam", "the inbox is sw.sam's")
check(inbox["refused"] == 0, "nothing refused")
last = inbox["last"]
s, _, _ = req("GET", "/api/events?after=x", cookie=sid)
check(s == 400, "a malformed after: %d" % s)

# The live stream, read on a thread.
events, ended = [], threading.Event()
def stream():
    c = conn()
    c.request("GET", "/api/events?after=%d" % last, headers={"Cookie": "mash_session=" + sid})
    r = c.getresponse()
    if r.status != 200 or r.getheader("Content-Type") != "text/event-stream":
        events.append(("bad", r.status))
        ended.set()
        return
    cur = {}
    try:
        while True:
            line = r.readline()
            if not line:
                break
            line = line.decode().rstrip("\n")
            if line == "":
                if "data" in cur:
                    events.append(("event", cur))
                cur = {}
            elif not line.startswith(":"):
                k, _, v = line.partition(": ")
                cur[k] = v
    except Exception as e:
        events.append(("error", repr(e)))
    ended.set()
t = threading.Thread(target=stream, daemon=True)
t.start()
time.sleep(1)
check(subprocess.call([send]) == 0, "the police agent sent the new event")

def mine():
    for kind, e in list(events):
        if kind != "event" or e.get("event") != "delivery":
            continue
        d = json.loads(e["data"])
        if d.get("type") == "mash.v1.SharedRecord" and d.get("record", {}).get("event_id") == event_id:
            return e, d
    return None, None
deadline = time.time() + 60
while time.time() < deadline and mine()[0] is None and not ended.is_set():
    time.sleep(0.2)
e, d = mine()
if check(d is not None, "the new police record reached the event stream (got %r)" % events[:3]):
    check(d["recipient"] == "sw.sam", "sealed to sw.sam")
    check(int(e["id"]) == d["id"] and d["id"] > last, "numbered after %d" % last)
    s, _, b = req("GET", "/api/inbox", cookie=sid)
    ids = [i.get("record", {}).get("event_id") for i in json.loads(b)["items"]]
    check(event_id in ids, "/api/inbox lists it")

# Sign out: the stream ends (it looks every few seconds).
s, _, page = req("GET", "/inbox", cookie=sid)
csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)
s, _, _ = req("POST", "/signout", {"csrf": csrf}, cookie=sid)
check(s == 303, "signed out: %d" % s)
check(ended.wait(20), "the event stream ended after sign-out")
s, _, _ = req("GET", "/api/inbox", cookie=sid)
check(s == 401, "the inbox after sign-out: %d" % s)
sys.exit(1 if fails else 0)
PY

LOG=$DEMO/logs/console.log
for _ in $(seq 1 50); do
	grep -q 'sw.sam: inbox link closed' "$LOG" && break
	sleep 0.1
done
grep -q 'sw.sam: inbox link open' "$LOG" || fail "no 'inbox link open' in the console log"
grep -q 'sw.sam: inbox link closed' "$LOG" || fail "the link did not close at sign-out"
! grep -q 'refused, not shown' "$LOG" || fail "a delivery was refused: $(grep refused "$LOG")"
# Nothing personal in the console's log (the sample child and record).
for word in 9434765919 Jordan Reed "NE61 1AA" "Reported missing"; do
	! grep -qF "$word" "$LOG" || fail "the console log names '$word'"
done

mash_demo_release "$TMP"
rc=$?
[ $rc -eq 0 ] || fail "the demo exited $rc after the hold: $(tail -n 3 "$TMP/demo.err")"
grep -q '^demo: OK' "$TMP/demo.out" || fail "the demo did not end with demo: OK"

if [ $FAILS -ne 0 ]; then
	echo "--- console log (tail)" >&2
	tail -n 20 "$LOG" >&2 2>/dev/null
	echo "it_console_inbox: $FAILS failure(s)" >&2
	exit 1
fi
echo "it_console_inbox: all checks passed"

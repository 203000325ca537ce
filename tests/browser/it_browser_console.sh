#!/usr/bin/env bash
# Issue 29: the web console in a real browser. The demo runs in hold mode
# (mutual-TLS mosquitto, mashd, the story, mash-console); Debian's
# chromium, headless, driven by playwright-core (tests/browser, installed
# by make deps with npm ci), signs in as sam, watches a new police record
# arrive live, checks keyboard use, labels and a narrow screen, and signs
# out; the analyst's picture, break-glass refused without a reason and
# audited with one; the housing officer's picture without police's or
# health's narrative; the auditor offered no break-glass (console_inbox.mjs).
# Screenshots of each page are kept in MASH_SHOTS_DIR (default
# build/browser-shots). ctest label: browser.
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mash-it-browser-XXXXXX")
DEMO_PID=""
# shellcheck source=../integration/lib.sh
. "$HERE/../integration/lib.sh"
cleanup() {
	mash_demo_release "$TMP" >/dev/null 2>&1
	rm -rf -- "$TMP"
}
trap cleanup EXIT
fail() {
	echo "it_browser_console: FAIL: $*" >&2
	exit 1
}

[ -x "${MASH_CHROMIUM:-/usr/bin/chromium}" ] ||
	fail "no chromium at ${MASH_CHROMIUM:-/usr/bin/chromium}: run 'make deps'"
[ -d "$HERE/node_modules/playwright-core" ] ||
	fail "no playwright-core in $HERE/node_modules: run 'make deps'"

SHOTS=${MASH_SHOTS_DIR:-$MASH_BUILD_DIR/browser-shots}
mkdir -p "$SHOTS" || fail "cannot make $SHOTS"
mash_demo_hold "$TMP" || fail "the demo never reached its hold"
EVENT_ID=$(mash_new_police_event "$DEMO" "$TMP")
timeout 300 node "$HERE/console_inbox.mjs" "$CONSOLE_URL" \
	"$DEMO/console-password" "$TMP/send.sh" "$EVENT_ID" "$SHOTS" ||
	{
		grep -v 'handshake message out of context' "$DEMO/logs/console.log" |
			tail -n 15 >&2
		fail "see above"
	}
# The override the analyst made is in the audit trail, with its reason.
n=$("$MASH_BIN_DIR/mashctl" audit query --db "$DEMO/mash.db" \
	--type BREAK_GLASS --principal analyst.amara 2>/dev/null | grep -c . || true)
[ "${n:-0}" -ge 1 ] || fail "no BREAK_GLASS record for analyst.amara in the audit trail"
"$MASH_BIN_DIR/mashctl" audit query --db "$DEMO/mash.db" --type BREAK_GLASS \
	--principal analyst.amara 2>/dev/null | grep -q "Missing tonight" ||
	fail "the BREAK_GLASS record does not carry the reason given"
mash_demo_release "$TMP" || fail "the demo exited non-zero after the hold"
echo "it_browser_console: all checks passed"

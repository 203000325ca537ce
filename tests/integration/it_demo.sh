#!/usr/bin/env bash
# Integration test of `make demo` (scripts/demo.sh), run into temp dirs:
#  1. a full run prints the analyst's picture and the s47 trigger, audit
#     verify passes, and no process it started is left running;
#  2. a run that fails half-way (no sample feeds, after mosquitto and mashd
#     are up) exits non-zero with one "demo: FAILED:" line and leaves no
#     process running;
#  3. Ctrl-C (SIGINT to the process group, as a terminal sends it) in the
#     middle of a run stops everything it started.
set -u -o pipefail

SRC=${MASH_SOURCE_DIR:?MASH_SOURCE_DIR not set}
BUILD=${MASH_BUILD_DIR:?MASH_BUILD_DIR not set}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mash-it-demo-XXXXXX")
FAILS=0

cleanup() {
	rm -rf -- "$TMP"
}
trap cleanup EXIT

fail() {
	echo "it_demo: FAIL: $*" >&2
	FAILS=$((FAILS + 1))
}

show_logs() {
	local dir=$1
	echo "--- stdout (tail)" >&2
	tail -n 80 "$dir.out" >&2 2>/dev/null
	echo "--- stderr (tail)" >&2
	tail -n 20 "$dir.err" >&2 2>/dev/null
	for f in "$dir"/logs/*.log "$dir"/logs/*.err; do
		[ -s "$f" ] || continue
		echo "--- $f (tail)" >&2
		tail -n 15 "$f" >&2
	done
}

# Every pid the demo recorded must be gone.
assert_no_process_left() {
	local dir=$1 label=$2 pid left=""
	if [ ! -s "$dir/.pids" ]; then
		fail "$label: the demo recorded no pids in $dir/.pids"
		return
	fi
	while read -r pid; do
		[ -n "$pid" ] || continue
		if kill -0 "$pid" 2>/dev/null; then
			# A reused pid would not be one of ours: check its command.
			if grep -qaE 'mosquitto|mashd|mash-agent|mash-console|mashctl|timeout' \
				"/proc/$pid/cmdline" 2>/dev/null; then
				left="$left $pid($(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | cut -c1-120); state $(cut -d' ' -f3 2>/dev/null </proc/$pid/stat))"
			fi
		fi
	done <"$dir/.pids"
	[ -z "$left" ] || fail "$label: processes still running:$left"
	# Any process whose command line names the demo dir (no procps
	# needed: /proc directly; this shell's own pid excluded).
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = "$$" ] && continue
		if tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF "$dir/"; then
			fail "$label: process ${p#/proc/} still names $dir: $(tr '\0' ' ' <"$p/cmdline")"
		fi
	done
}

# ------------------------------------------------------------------ 1
D1=$TMP/demo
MASH_DEMO_DIR=$D1 timeout 300 bash "$SRC/scripts/demo.sh" "$BUILD" \
	>"$D1.out" 2>"$D1.err"
rc=$?
if [ $rc -ne 0 ]; then
	fail "full run: demo exited $rc"
	show_logs "$D1"
else
	grep -q "demo: OK" "$D1.out" || show_logs "$D1"
	out=$(cat "$D1.out")
	for want in "MASH combined picture" "as analyst.amara, purpose mash-triage" \
		"Level:      L4" "VCL band:   VERY_HIGH" "Timeline (" \
		"Open s47 triggers (1)" "s47.accumulation" "strategy discussion due by" \
		"mash/v1/inbox/sw.sam:            raised" "verifying the audit trail" "demo: OK"; do
		grep -qF -- "$want" <<<"$out" || fail "full run: output lacks '$want'"
	done
	# The story's agencies all appear on the analyst's timeline.
	for a in police education housing health yot; do
		grep -qE "^  2026-[0-9]{2}-[0-9]{2}  $a " <<<"$out" ||
			fail "full run: no $a record on the timeline"
	done
	# A trigger is read as the policy lets each attendee read it (issue
	# 26): housing and the school are told that police contributed, not
	# police's Vulnerability Checklist score.
	grep -qF "Open s47 triggers (1)" "$D1/picture-housing.officer1.txt" ||
		fail "full run: the housing officer's view shows no open trigger"
	grep -qF "s47.vcl-very-high: police contributed." \
		"$D1/picture-housing.officer1.txt" ||
		fail "full run: the housing view does not say police contributed"
	for f in "$D1/picture-housing.officer1.txt" "$D1/logs/inbox-school.dsl1.log"; do
		! grep -q "Vulnerability Checklist factor" "$f" ||
			fail "full run: $f shows another agency's VCL score"
	done
	grep -q "Vulnerability Checklist factor 4" "$D1/logs/inbox-sw.sam.log" ||
		fail "full run: the social worker's trigger lost the VCL reason"
	# Rule 8: the auditor's break-glass is refused, said and audited.
	grep -qF "auditor.ada with --break-glass (exit 1): break-glass refused: role auditor may not break glass" \
		<<<"$out" || fail "full run: the auditor's break-glass refusal is not shown"
	[ "$(sqlite3 "$D1/mash.db" "SELECT count(*) FROM audit_log WHERE type = 'BREAK_GLASS_REFUSED' AND actor = 'auditor.ada'")" = 1 ] ||
		fail "full run: the auditor's refused break-glass is not audited"
	# ... and the audit report lists it for review.
	grep -qE "^- +r8-break-glass-roles +0 +0 +0 +0 +0 +1 " "$D1/audit-report.txt" ||
		fail "full run: the audit report does not list the refused break-glass"
	# The audit report lists the fields withheld by rule.
	grep -qF "withheld by rule:" "$D1/audit-report.txt" ||
		fail "full run: the audit report has no 'withheld by rule' view"
	# Files kept for inspection.
	for f in mash.db mashd.cfg picture.cfg mosquitto.conf trust keys/mashd/k1.key.pem logs/mashd.log; do
		[ -e "$D1/$f" ] || fail "full run: $D1/$f not kept"
	done
	[ "$(grep -c . "$D1.err")" -eq 0 ] ||
		{ fail "full run: stderr not empty:"; head -20 "$D1.err" >&2; }
	# At rest (issue 28): no name, NHS number, postcode or summary of the
	# sample feeds in the store, its WAL or any agent's outbox file, as
	# `strings` would find them; every one of those files 0600.
	leaks=$(/usr/bin/python3 - "$SRC/agents/samples" "$D1" <<'PY'
import csv, glob, os, sys
samples, demo = sys.argv[1], sys.argv[2]
needles = set()
for path in glob.glob(os.path.join(samples, "*.csv")):
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            for k in ("given_name", "family_name", "nhs_number", "postcode"):
                if row.get(k):
                    needles.add(row[k])
            if row.get("summary"):
                needles.add(row["summary"][:24])
files = [os.path.join(demo, "mash.db")]
files += glob.glob(os.path.join(demo, "mash.db-wal"))
files += glob.glob(os.path.join(demo, "outbox", "*"))
for p in files:
    data = open(p, "rb").read()
    for n in sorted(needles):
        if n.encode() in data:
            print("%s holds %r" % (os.path.basename(p), n))
    if os.stat(p).st_mode & 0o077:
        print("%s is mode %o" % (p, os.stat(p).st_mode & 0o777))
if len(needles) < 10 or len(files) < 6:
    print("checked too little: %d values, %d files" % (len(needles), len(files)))
PY
)
	[ -z "$leaks" ] || fail "full run: at rest: $leaks"
fi
assert_no_process_left "$D1" "full run"

# A second run into the same directory wipes the first run's files.
if [ $rc -eq 0 ]; then
	echo stale >"$D1/stale-file"
	MASH_DEMO_DIR=$D1 timeout 300 bash "$SRC/scripts/demo.sh" "$BUILD" \
		>"$D1.out" 2>"$D1.err" || fail "second run: demo exited $?"
	[ ! -e "$D1/stale-file" ] || fail "second run: previous contents not wiped"
	assert_no_process_left "$D1" "second run"
fi

# A directory the demo did not make is never wiped.
D0=$TMP/precious
mkdir -p "$D0" && echo keep >"$D0/file"
MASH_DEMO_DIR=$D0 timeout 60 bash "$SRC/scripts/demo.sh" "$BUILD" \
	>"$D0.out" 2>"$D0.err"
[ $? -ne 0 ] || fail "foreign dir: demo did not refuse"
[ -f "$D0/file" ] || fail "foreign dir: its file was removed"
grep -q "refusing to wipe" "$D0.err" || fail "foreign dir: no clear refusal"

# ------------------------------------------------------------------ 2
D2=$TMP/demo-fail
mkdir -p "$TMP/empty-samples"
MASH_DEMO_DIR=$D2 MASH_DEMO_SAMPLES=$TMP/empty-samples timeout 120 \
	bash "$SRC/scripts/demo.sh" "$BUILD" >"$D2.out" 2>"$D2.err"
rc=$?
[ $rc -ne 0 ] || fail "failing run: demo exited 0"
[ "$(grep -c '^demo: FAILED: ' "$D2.err")" -eq 1 ] ||
	fail "failing run: expected one 'demo: FAILED:' line, got: $(cat "$D2.err")"
grep -q "feed" "$D2.err" || fail "failing run: the failure line does not name the feed"
assert_no_process_left "$D2" "failing run"

# ------------------------------------------------------------------ 3
D3=$TMP/demo-int
set -m
MASH_DEMO_DIR=$D3 timeout 300 bash "$SRC/scripts/demo.sh" "$BUILD" \
	>"$D3.out" 2>"$D3.err" &
job=$!
set +m
# Interrupt once mashd is up (its log exists), at most 60 s from now.
for _ in $(seq 1 600); do
	[ -e "$D3/logs/mashd.log" ] && break
	kill -0 "$job" 2>/dev/null || break
	sleep 0.1
done
sleep 0.5
kill -INT -- "-$job" 2>/dev/null
wait "$job"
rc=$?
[ $rc -ne 0 ] || fail "interrupted run: demo exited 0"
assert_no_process_left "$D3" "interrupted run"

if [ $FAILS -ne 0 ]; then
	echo "it_demo: $FAILS failure(s)" >&2
	exit 1
fi
echo "it_demo: all checks passed"

#!/usr/bin/env bash
# mashctl policy eval (issue 26) against the shipped policy and directory:
#   1. a refused-consent health event at L2: the analyst gets the signpost
#      under r1-signpost, and --explain names r2-consent-refused-below-l3
#      for the child's identity and r6-health-clinical-below-l4 for the
#      clinical detail;
#   2. the same at L1 for police public protection, as JSON: nothing
#      received, by_rule says which rule withheld the NHS number;
#   3. a do-not-disclose police event at L3: the school DSL gets the
#      concern and the flag under r4-concern-and-flag-to-family-roles,
#      never the narrative (withheld by r4-do-not-disclose);
#   4. break-glass asked by the auditor: the ordinary view and the refusal;
#   5. a serialized mash.v1.AgencyEvent built by Python's protobuf stack
#      (not ours) is decided the same way as the libconfig event; one
#      mashd would reject (bad NHS number) exits 1 with the reason;
#   6. bad input: unknown principal, purpose, event key; exit 2.
set -euo pipefail
SRC=${MASH_SOURCE_DIR:?}
BIN=${MASH_BIN_DIR:?}
PY=/usr/bin/python3
M="$BIN/mashctl"
POL="$SRC/policy/default.cfg"
for need in "$PY" protoc "$M"; do
  command -v "$need" >/dev/null || { echo "it_policy_eval: missing $need (make deps)" >&2; exit 1; }
done
T=$(mktemp -d /tmp/mash-eval-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "it_policy_eval: FAIL: $*" >&2; exit 1; }
has() { grep -qF -- "$2" "$1" || { echo "--- $1:"; cat "$1"; fail "$3"; }; }
hasnt() { ! grep -qF -- "$2" "$1" || { echo "--- $1:"; cat "$1"; fail "$3"; }; }
ev() { timeout 20 "$M" policy eval --policy "$POL" "$@"; }

cat >"$T/refused.cfg" <<'EOF'
event = { agency = "health"; category = "MENTAL_HEALTH"; severity = 1; consent = "REFUSED"; };
EOF

# 1
ev --event "$T/refused.cfg" --as analyst.amara --purpose mash-triage \
  --level 2 --agencies 2 --explain >"$T/1" || fail "eval 1 exited $?"
has "$T/1" "decision: receives, rule r1-signpost" "analyst: signpost rule in force"
has "$T/1" "shared: signpost" "analyst: the signpost only"
has "$T/1" "flags: consent-refused" "analyst: refusal flag"
grep -E "^  withheld by r2-consent-refused-below-l3 .*subject\.nhs_number" "$T/1" >/dev/null ||
  { cat "$T/1"; fail "analyst: r2 not named for the NHS number"; }
grep -E "^  withheld by r6-health-clinical-below-l4 .*detail\.health\.diagnosis" "$T/1" >/dev/null ||
  { cat "$T/1"; fail "analyst: r6 not named for the diagnosis"; }

# 2
ev --event "$T/refused.cfg" --as police.pp1 --purpose mash-triage --json \
  --explain >"$T/2" || fail "eval 2 exited $?"
"$PY" - "$T/2" <<'PYEOF' || fail "police JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["receives"] is False and d["shared"] == [], d
assert d["role"] == "police-public-protection", d
assert "subject.nhs_number" in d["withheld"], d
by = {f: g["rule"] for g in d["by_rule"] for f in g["fields"]}
assert by["subject.nhs_number"] == "r2-consent-refused-below-l3", by
assert all(g["decision"] == "withheld" for g in d["by_rule"]), d["by_rule"]
assert sorted(by) == sorted(d["withheld"]), (by, d["withheld"])
PYEOF
ev --event "$T/refused.cfg" --as police.pp1 --purpose mash-triage --json >"$T/2b"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "by_rule" not in d' "$T/2b" ||
  fail "by_rule without --explain"

# 3
cat >"$T/dnd.cfg" <<'EOF'
event = { agency = "police"; category = "DOMESTIC_ABUSE"; severity = 3;
          consent = "NOT_REQUIRED_RISK_OF_HARM"; do_not_disclose_to_family = true; };
EOF
ev --event "$T/dnd.cfg" --as school.dsl1 --purpose s17-assessment --level 3 \
  --agencies 2 --explain >"$T/3" || fail "eval 3 exited $?"
has "$T/3" "decision: receives, rule r4-concern-and-flag-to-family-roles" "school: r4 concern rule"
has "$T/3" "do-not-disclose-to-family" "school: the flag"
grep -E "^shared: .*category" "$T/3" >/dev/null || { cat "$T/3"; fail "school: no category"; }
grep -E "^shared: .*summary" "$T/3" >/dev/null && { cat "$T/3"; fail "school: narrative shared"; }
grep -E "^  withheld by r4-do-not-disclose.*summary" "$T/3" >/dev/null ||
  { cat "$T/3"; fail "school: summary not withheld by r4"; }

# 4
ev --event "$T/dnd.cfg" --as auditor.ada --purpose strategy-discussion --level 4 \
  --break-glass >"$T/4" || fail "eval 4 exited $?"
has "$T/4" "break-glass: refused" "auditor: refusal not told"
has "$T/4" "receives nothing" "auditor: ordinary view"

# 5: the same event as a protobuf from a third-party stack.
mkdir -p "$T/py"
protoc -I "$SRC/proto" --python_out="$T/py" "$SRC/proto/mash/v1/mash.proto"
PYTHONPATH="$T/py" "$PY" - "$T" <<'PYEOF' || fail "python event"
import sys, time
from mash.v1 import mash_pb2
t = sys.argv[1]
now = int(time.time() * 1000)
ev = mash_pb2.AgencyEvent(
    event_id="6f1c2a7e-0000-4000-8000-000000000026", agency="health",
    occurred_at=now - 3600000, recorded_at=now,
    category=mash_pb2.MENTAL_HEALTH, severity=1,
    consent=mash_pb2.REFUSED, summary="seen at the walk-in centre")
ev.subject.nhs_number = "9434765919"
ev.subject.given_name = "Test"
ev.subject.family_name = "Child"
ev.health.diagnosis = "withheld in logs"
open(f"{t}/refused.pb", "wb").write(ev.SerializeToString())
ev.subject.nhs_number = "9434765918"  # bad check digit
open(f"{t}/badnhs.pb", "wb").write(ev.SerializeToString())
PYEOF
ev --event "$T/refused.pb" --as analyst.amara --purpose mash-triage \
  --level 2 --agencies 2 --explain >"$T/5" || fail "eval 5 exited $?"
has "$T/5" "decision: receives, rule r1-signpost" "protobuf event: signpost"
grep -E "^  withheld by r2-consent-refused-below-l3 .*subject\.nhs_number" "$T/5" >/dev/null ||
  { cat "$T/5"; fail "protobuf event: r2 not named"; }
hasnt "$T/5" "9434765919" "the NHS number was printed"
set +e
ev --event "$T/badnhs.pb" --as analyst.amara --purpose mash-triage >"$T/5b" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || { cat "$T/5b"; fail "rejected event exited $rc, expected 1"; }
has "$T/5b" "mashd would reject this event" "rejected event not told"

# 6
bad() {
  local want=$1 msg=$2; shift 2
  set +e; ev "$@" >"$T/6" 2>&1; local rc=$?; set -e
  [ "$rc" = "$want" ] || { cat "$T/6"; fail "'$*' exited $rc, expected $want"; }
  has "$T/6" "$msg" "'$*': no '$msg'"
}
bad 2 "is not in" --event "$T/refused.cfg" --as nobody.here --purpose mash-triage
bad 2 "unknown purpose" --event "$T/refused.cfg" --as analyst.amara --purpose gossip
bad 2 "required" --event "$T/refused.cfg" --as analyst.amara
bad 2 "--level must be 1-4" --event "$T/refused.cfg" --as analyst.amara --purpose mash-triage --level 5
printf 'event = { agency = "health"; category = "MENTAL_HEALTH"; consent = "GIVEN"; colour = "red"; };\n' >"$T/badkey.cfg"
bad 2 "unknown key 'colour'" --event "$T/badkey.cfg" --as analyst.amara --purpose mash-triage
printf 'event = { agency = "health"; category = "MENTAL_HEALTH"; consent = "GIVEN"; };\ncase = { level = 2; };\n' >"$T/extra.cfg"
bad 2 "unknown key 'case'" --event "$T/extra.cfg" --as analyst.amara --purpose mash-triage
printf '\001\002garbage' >"$T/junk"
bad 2 "neither an event group" --event "$T/junk" --as analyst.amara --purpose mash-triage
echo "it_policy_eval: ok"

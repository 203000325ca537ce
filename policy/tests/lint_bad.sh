#!/usr/bin/env bash
# Every policy under policy/tests/bad/ must be REJECTED by
# `mashctl policy lint` with the exit code and the located message named in
# its first line:  # expect: EXIT MESSAGE
# With POLICY and FAILING_CASES, also checks that `mashctl policy test`
# reports a failing case by name, ends with "0 passed, 1 failed", exits 1.
# usage: lint_bad.sh MASHCTL DIR [POLICY FAILING_CASES]
set -u
mashctl=$1
dir=$2
n=0
bad=0
for f in "$dir"/*.cfg; do
	n=$((n + 1))
	line=$(head -n 1 "$f")
	case "$line" in
	"# expect: "*) ;;
	*) echo "FAIL $f: first line must be '# expect: EXIT MESSAGE'"; bad=$((bad + 1)); continue ;;
	esac
	want_rc=${line#\# expect: }
	want_msg=${want_rc#* }
	want_rc=${want_rc%% *}
	err=$(timeout 20 "$mashctl" policy lint "$f" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" != "$want_rc" ]; then
		echo "FAIL $f: exit $rc, expected $want_rc"
		bad=$((bad + 1))
	elif ! printf '%s\n' "$err" | grep -qF -- "$want_msg"; then
		echo "FAIL $f: expected '$want_msg' on stderr, got:"
		printf '%s\n' "$err" | sed 's/^/    /'
		bad=$((bad + 1))
	fi
done
if [ "$n" -lt 5 ]; then
	echo "FAIL: only $n bad policies in $dir"
	bad=$((bad + 1))
fi
if [ $# -ge 4 ]; then
	n=$((n + 1))
	out=$(timeout 20 "$mashctl" policy test "$3" "$4" 2>&1)
	rc=$?
	if [ "$rc" != 1 ] || ! printf '%s\n' "$out" | grep -qF "case 'housing officer wrongly" ||
	   [ "$(printf '%s\n' "$out" | tail -n 1)" != "0 passed, 1 failed" ]; then
		echo "FAIL policy test on failing cases: exit $rc, output:"
		printf '%s\n' "$out" | sed 's/^/    /'
		bad=$((bad + 1))
	fi
fi
echo "$((n - bad)) passed, $bad failed"
[ "$bad" -eq 0 ]

#!/usr/bin/env bash
# make fuzz-smoke (issue 31): every libFuzzer harness (build-fuzz, `make
# fuzz`) runs for FUZZ_SECONDS (default 30) on a copy of its committed seed
# corpus (fuzz/corpus/NAME; none: libFuzzer starts from nothing), under
# AddressSanitizer and LeakSanitizer. Any crash, timeout, out-of-memory or
# leak fails it, with the input kept in build-fuzz/artifacts/. One line per
# harness. The only leak tolerated is libconfig 1.5's scanner buffer on a
# syntax error (tests/lsan.supp says why); every other leak fails.
set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${FUZZ_BUILD:-$ROOT/build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-30}
ART=$BUILD/artifacts
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mash-fuzz-smoke-XXXXXX")
trap 'rm -rf -- "$TMP"' EXIT
mkdir -p "$ART"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp}

fail=0 n=0
for h in "$BUILD"/bin/fuzz_*; do
	[ -x "$h" ] || continue
	name=$(basename "$h")
	corpus=$ROOT/fuzz/corpus/${name#fuzz_}
	mkdir -p "$TMP/$name"
	[ -d "$corpus" ] && cp -r "$corpus"/. "$TMP/$name"/
	seeds=$(find "$TMP/$name" -type f | wc -l)
	log=$TMP/$name.log
	timeout $((SECONDS_EACH + 120)) "$h" -max_total_time="$SECONDS_EACH" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$ART/$name-" "$TMP/$name" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	n=$((n + 1))
	if [ $rc -ne 0 ]; then
		fail=1
		echo "fuzz-smoke: $name: FAILED (exit $rc) after ${runs:-?} runs from $seeds seeds:"
		grep -E 'ERROR|SUMMARY|leak|Test unit written' "$log" | head -n 10 | sed 's/^/    /'
	else
		echo "fuzz-smoke: $name: ${runs:-?} runs in ${SECONDS_EACH} s from $seeds seeds, no crash or leak"
	fi
done
if [ $n -eq 0 ]; then
	echo "fuzz-smoke: no harness in $BUILD/bin (run make fuzz)" >&2
	exit 1
fi
exit $fail

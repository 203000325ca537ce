#!/usr/bin/env bash
# make bench: runs every benchmark binary in build/bin/bench_*.
set -euo pipefail
BUILD=${1:-build}
shopt -s nullglob
# The end-to-end benchmarks start the built binaries and read the sources
# (policy, samples, bench/gen-feeds).
export MASH_BIN_DIR=${MASH_BIN_DIR:-$(cd "$BUILD/bin" && pwd)}
export MASH_SOURCE_DIR=${MASH_SOURCE_DIR:-$(pwd)}
# bench_e2e's figures as JSON (issue 32).
export MASH_BENCH_OUT=${MASH_BENCH_OUT:-$(cd "$BUILD" && pwd)/bench/result.json}
for b in "$BUILD"/bin/bench_*; do echo "== $(basename "$b")"; "$b"; done

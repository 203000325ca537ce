#!/usr/bin/env bash
# make bench: runs every benchmark binary in build/bin/bench_*.
set -euo pipefail
BUILD=${1:-build}
shopt -s nullglob
for b in "$BUILD"/bin/bench_*; do echo "== $(basename "$b")"; "$b"; done

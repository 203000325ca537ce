#!/usr/bin/env bash
# Install the Debian 12 packages the project needs. As root: apt-get them.
# Otherwise: print the one apt-get line to run, and fail.
set -euo pipefail
PKGS=(build-essential cmake pkg-config make
  libpaho-mqtt-dev libprotobuf-c-dev protobuf-c-compiler
  libssl-dev libsqlite3-dev sqlite3 check
  libconfig-dev libjansson-dev libcsv-dev libsodium-dev libmicrohttpd-dev
  mosquitto mosquitto-clients
  protobuf-compiler python3 python3-protobuf python3-cryptography
  openssl tzdata chromium nodejs clang libclang-rt-14-dev)
missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages; run:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The browser tests' driver, playwright-core, exactly as locked (npm's
# registry; it downloads no browser: the tests use Debian's chromium).
BROWSER=$(cd "$(dirname "$0")/../tests/browser" && pwd)
want=$(sed -n '/"node_modules\/playwright-core"/,/}/s/.*"version": "\(.*\)".*/\1/p' \
  "$BROWSER/package-lock.json")
have=""
if [ -f "$BROWSER/node_modules/playwright-core/package.json" ]; then
  have=$(sed -n 's/.*"version": "\(.*\)".*/\1/p' \
    "$BROWSER/node_modules/playwright-core/package.json" | head -n 1)
fi
if [ -z "$want" ] || [ "$have" != "$want" ]; then
  echo "deps: npm ci in tests/browser (playwright-core $want)" >&2
  (cd "$BROWSER" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

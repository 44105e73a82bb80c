#!/usr/bin/env bash
# The real-browser end-to-end tests: headless Debian Chromium driven by playwright-core
# through the emulator's hosted UI and the sidecar (tests/browser/*.test.mjs).
#
# Installs what is missing (chromium with apt-get, Node packages with `npm ci`), builds
# the binary, then runs `node --test`. Under CI=true anything missing that cannot be
# installed fails the run (exit 1) — CI never skips. Elsewhere (a developer machine
# without apt or root) it prints SKIP and exits 0.
#
# Environment: CHROMIUM_PATH (default /usr/bin/chromium), CARGO_TARGET_DIR.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"

say() { echo "browser tests: $*" >&2; }

# Fails under CI, skips elsewhere.
unavailable() {
  if [ "${CI:-}" = "true" ]; then
    say "FAIL: $* (CI=true: the browser tests must run)"
    exit 1
  fi
  echo "browser tests: SKIP: $* — install it (or run with CI=true to make this an error)"
  exit 0
}

# Runs apt-get as root, or through non-interactive sudo; fails if neither is possible.
apt_get() {
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo -n env DEBIAN_FRONTEND=noninteractive apt-get "$@"
  else
    return 1
  fi
}

# apt-get install, with `apt-get update` first only when the install fails (stale or
# missing package lists on a fresh machine).
apt_install() {
  command -v apt-get >/dev/null || return 1
  apt_get install -y "$@" || { apt_get update && apt_get install -y "$@"; }
}

if [ ! -x "$chromium" ]; then
  # Only the Debian package is installed here; a CHROMIUM_PATH elsewhere is the caller's.
  [ -z "${CHROMIUM_PATH:-}" ] || unavailable "no Chromium at CHROMIUM_PATH=$chromium"
  say "installing chromium"
  if ! apt_install chromium >&2 || [ ! -x "$chromium" ]; then
    unavailable "Chromium not found at $chromium and could not be installed"
  fi
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  say "installing nodejs and npm"
  apt_install nodejs npm >&2 || unavailable "Node.js and npm not found and could not be installed"
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  unavailable "Node.js $(node --version) is too old; the tests need Node.js 20 or newer"
fi

# `npm ci` only when package-lock.json changed since the last install.
stamp="$here/node_modules/.installed-lock.json"
if ! cmp -s "$here/package-lock.json" "$stamp"; then
  say "npm ci"
  if ! (cd "$here" && npm ci --no-audit --no-fund >&2); then
    unavailable "npm ci failed in tests/browser"
  fi
  cp "$here/package-lock.json" "$stamp"
fi

target="${CARGO_TARGET_DIR:-$root/target}"
bin="$target/debug/cognito-sidecar"
# Build when the binary is missing or older than its sources, so the test never drives
# a stale build.
if [ ! -x "$bin" ] ||
  [ -n "$(cd "$root" && find src Cargo.toml Cargo.lock -newer "$bin" -print -quit)" ]; then
  say "cargo build --locked"
  (cd "$root" && cargo build --locked)
fi

cd "$root"
export SIDECAR_BIN="$bin" CHROMIUM_PATH="$chromium"
exec node --test "$here"/*.test.mjs

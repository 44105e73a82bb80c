#!/usr/bin/env bash
# The project's one test command (README and CI): install what the tests need, then run
# every test target and print one summary line. Exits non-zero on any failure.
#
# A component the tests need is installed here, never assumed: a test must not skip
# because something is missing. Under CI=true (set by CI) tests that depend on an
# external program treat its absence as a failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# Debian packages the tests need, as "command:package" (the command proves the package
# is installed). Today the tests need nothing beyond Rust; later issues add e.g.
# "nginx:nginx-light" "redis-server:redis-server" "chromium:chromium"
# "chromedriver:chromium-driver".
PACKAGES=()

# npm packages for the browser tests live in tests/browser/package.json (+ lock file).
BROWSER_DIR=tests/browser

log() { printf 'test.sh: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

as_root() {
	if [[ $EUID -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		die "root is needed to run: $*"
	fi
}

ensure_toolchain() {
	local cmd
	for cmd in cargo rustc; do
		command -v "$cmd" >/dev/null || die "$cmd is missing: install the Rust toolchain"
	done
}

# Installs the missing PACKAGES with apt-get (refreshing the index only when the first
# attempt fails), then checks that every command is really there.
ensure_packages() {
	local entry missing=()
	for entry in "${PACKAGES[@]}"; do
		command -v "${entry%%:*}" >/dev/null || missing+=("${entry#*:}")
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"
	log "installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! as_root apt-get install -y -q "${missing[@]}"; then
		as_root apt-get update -q
		as_root apt-get install -y -q "${missing[@]}" || die "cannot install ${missing[*]}"
	fi
	for entry in "${PACKAGES[@]}"; do
		command -v "${entry%%:*}" >/dev/null ||
			die "${entry%%:*} is still missing after installing ${entry#*:}"
	done
}

# Installs the browser tests' npm packages exactly as locked, when that folder exists.
ensure_npm_packages() {
	[[ -f $BROWSER_DIR/package.json ]] || return 0
	command -v npm >/dev/null || die "npm is missing: it is needed for $BROWSER_DIR"
	if [[ -f $BROWSER_DIR/package-lock.json ]]; then
		npm ci --prefix "$BROWSER_DIR" --no-audit --no-fund
	else
		npm install --prefix "$BROWSER_DIR" --no-audit --no-fund
	fi
}

# Runs every test target (unit, integration, examples) without stopping at the first
# failing binary, then sums cargo's per-binary "test result:" lines into one line.
run_tests() {
	local output status=0
	output=$(mktemp)
	cargo test --locked --all-targets --no-fail-fast 2>&1 | tee "$output" || status=$?
	awk '/^test result:/ {
		for (i = 1; i <= NF; i++) {
			n = $(i - 1) + 0
			if ($i ~ /^passed/) passed += n
			else if ($i ~ /^failed/) failed += n
			else if ($i ~ /^ignored/) ignored += n
		}
		binaries++
	} END {
		printf "test.sh: %d passed; %d failed; %d ignored in %d test binaries\n", passed, failed, ignored, binaries
	}' "$output"
	rm -f "$output"
	if [[ $status -ne 0 ]]; then
		log "FAILED (cargo test exited with $status)"
		return "$status"
	fi
	log "all tests passed"
}

ensure_toolchain
ensure_packages
ensure_npm_packages
run_tests

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
# is installed): nginx for the forward-auth test, pip for the ALB verifier's packages,
# redis for the server-side session store, wrk for the soak smoke run.
# The browser test (tests/browser/run.sh) installs chromium itself; deploy/check.sh
# installs its own tools.
PACKAGES=("nginx:nginx-light" "pip3:python3-pip" "redis-server:redis-server" "redis-cli:redis-tools" "wrk:wrk")

# PyPI packages as "module:package": the independent ALB header verifier.
PY_PACKAGES=("jwt:pyjwt" "cryptography:cryptography")

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

# Installs the missing PY_PACKAGES for the system python3 (tests call python3 directly).
ensure_python_packages() {
	local entry missing=()
	for entry in "${PY_PACKAGES[@]}"; do
		python3 -c "import ${entry%%:*}" 2>/dev/null || missing+=("${entry#*:}")
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	log "installing PyPI packages: ${missing[*]}"
	python3 -m pip install --quiet --disable-pip-version-check "${missing[@]}" ||
		python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "${missing[@]}" ||
		die "cannot install ${missing[*]} with pip"
	for entry in "${PY_PACKAGES[@]}"; do
		python3 -c "import ${entry%%:*}" || die "python module ${entry%%:*} is still missing"
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

PASSED=0
FAILED=0
STATUS=0

# Adds a stage's counts to the totals; a stage that exited non-zero without reporting a
# failure still counts as one.
tally() {
	local name=$1 passed=$2 failed=$3 status=$4
	PASSED=$((PASSED + passed))
	FAILED=$((FAILED + failed))
	if [[ $status -ne 0 ]]; then
		STATUS=1
		[[ $failed -eq 0 ]] && FAILED=$((FAILED + 1))
		log "$name FAILED (exit $status)"
	fi
}

# Every Rust test target (unit, property, integration) without stopping at the first
# failing binary; sums cargo's per-binary "test result:" lines.
run_cargo_tests() {
	local output status=0
	output=$(mktemp)
	cargo test --locked --all-targets --no-fail-fast 2>&1 | tee "$output" || status=$?
	read -r passed failed < <(awk '/^test result:/ {
		for (i = 2; i <= NF; i++) {
			n = $(i - 1) + 0
			if ($i ~ /^passed/) p += n
			else if ($i ~ /^failed/) f += n
		}
	} END { print p + 0, f + 0 }' "$output")
	rm -f "$output"
	tally "cargo test" "$passed" "$failed" "$status"
}

# Headless Chromium through sign-in, a WebSocket and sign-out (node --test).
run_browser_tests() {
	local output status=0
	output=$(mktemp)
	bash tests/browser/run.sh 2>&1 | tee "$output" || status=$?
	read -r passed failed < <(awk '/^# pass / { p = $3 } /^# fail / { f = $3 } END { print p + 0, f + 0 }' "$output")
	rm -f "$output"
	tally "browser tests" "$passed" "$failed" "$status"
}

# Renders and validates deploy/ with real tools (kustomize, Helm, schemas, compose).
run_deploy_checks() {
	local output status=0
	output=$(mktemp)
	bash deploy/check.sh 2>&1 | tee "$output" || status=$?
	read -r passed failed < <(awk '/^deploy: [0-9]+ passed, [0-9]+ failed/ { p = $2; f = $4 } END { print p + 0, f + 0 }' "$output")
	rm -f "$output"
	tally "deploy checks" "$passed" "$failed" "$status"
}

# A 30-second mixed-traffic soak (bench/soak.sh --smoke): memory and file descriptors
# flat, no failed request. The 10-minute version is run by hand (bench/README.md).
run_soak_smoke() {
	local status=0
	SOAK_SIDECAR_BIN=${SOAK_SIDECAR_BIN:-target/debug/cognito-sidecar} bash bench/soak.sh --smoke || status=$?
	if [[ $status -eq 0 ]]; then
		tally "soak smoke" 1 0 0
	else
		tally "soak smoke" 0 1 "$status"
	fi
}

ensure_toolchain
ensure_packages
ensure_python_packages
ensure_npm_packages
run_cargo_tests
run_browser_tests
run_deploy_checks
run_soak_smoke
echo "total: $PASSED passed, $FAILED failed"
exit "$STATUS"

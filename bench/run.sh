#!/usr/bin/env bash
# Throughput (req/s) and p50/p99 latency of the sidecar, measured with wrk in one run
# against the upstream alone and against nginx as a plain reverse proxy, with the same
# upstream, the same connection count and the same CPU placement. Method: bench/README.md.
#
# Usage: bench/run.sh [--no-build]
# Environment (defaults in brackets):
#   DURATION [10s]  CONNECTIONS [64]  THREADS [1]  WARMUP [3s]  RUNS [1]
#   WRK_CPUS [0]  SERVER_CPUS [1] (the proxies)  UPSTREAM_CPUS [SERVER_CPUS]
#   PIN [auto: on with 2+ CPUs]
#   NICE [0; e.g. -10 as root to win the CPU from background jobs on a shared machine]
#   SIDECAR_BIN [target/release/cognito-sidecar]
#
# Adding a row is one call in add_rows below:
#   row NAME URL [--cpu "PID..."] [--script FILE.lua] [other wrk options, e.g. -H "Cookie: ..."]
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
WARMUP=${WARMUP:-3s}
RUNS=${RUNS:-1}
WRK_CPUS=${WRK_CPUS:-0}
SERVER_CPUS=${SERVER_CPUS:-1}
UPSTREAM_CPUS=${UPSTREAM_CPUS:-$SERVER_CPUS}
NICE=${NICE:-0}
SIDECAR_BIN=${SIDECAR_BIN:-$REPO/target/release/cognito-sidecar}
RESULTS_DIR=$BENCH_DIR/results
BASELINE=direct
BUILD=1
# nginx lives in /usr/sbin, which a non-root PATH may lack.
PATH=$PATH:/usr/sbin:/sbin

PIDS=()
PORTS=()
ROW_NAMES=()
ROW_ARGS=()
WORK=
WRK_PID=

log() { printf '%s\n' "bench: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

usage() {
	sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# ---------------------------------------------------------------- setup and teardown

cleanup() {
	local pid
	if [[ -n $WRK_PID ]]; then
		kill -TERM "$WRK_PID" 2>/dev/null || true
	fi
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [[ -n $WORK ]]; then
		rm -rf "$WORK"
	fi
}

as_root() {
	if [[ $EUID -eq 0 ]]; then
		"$@"
	else
		sudo "$@"
	fi
}

# wrk and nginx come from Debian; Debian 13 dropped nginx-light, so fall back to nginx.
ensure_tools() {
	local missing=()
	command -v wrk >/dev/null || missing+=(wrk)
	command -v nginx >/dev/null || missing+=(nginx-light)
	command -v taskset >/dev/null || missing+=(util-linux)
	[[ ${#missing[@]} -eq 0 ]] && return
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if as_root apt-get install -y -q "${missing[@]}"; then
		return
	fi
	as_root apt-get update -q
	if ! apt-cache policy nginx-light 2>/dev/null | grep -q 'Candidate: [0-9]'; then
		missing=("${missing[@]/#nginx-light/nginx}")
	fi
	as_root apt-get install -y -q "${missing[@]}"
}

build() {
	if [[ $BUILD -eq 1 ]]; then
		log "building the sidecar (cargo build --release --locked)"
		(cd "$REPO" && cargo build --release --locked)
	fi
	[[ -x $SIDECAR_BIN ]] || die "$SIDECAR_BIN is missing: run without --no-build"
}

# Pinning needs two CPUs; on one CPU everything shares it and the report says so.
decide_pinning() {
	if [[ -z ${PIN:-} ]]; then
		if [[ $(nproc --all) -ge 2 ]]; then PIN=1; else PIN=0; fi
	fi
	local nice=(nice -n "$NICE")
	if [[ $PIN -eq 1 ]]; then
		WRK_PREFIX=("${nice[@]}" taskset -c "$WRK_CPUS")
		SERVER_PREFIX=("${nice[@]}" taskset -c "$SERVER_CPUS")
		UPSTREAM_PREFIX=("${nice[@]}" taskset -c "$UPSTREAM_CPUS")
		SERVER_CORES=$(taskset -c "$SERVER_CPUS" nproc)
	else
		WRK_PREFIX=("${nice[@]}")
		SERVER_PREFIX=("${nice[@]}")
		UPSTREAM_PREFIX=("${nice[@]}")
		SERVER_CORES=$(nproc)
	fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port VAR: a loopback port nothing listens on, distinct from those already picked,
# and below the kernel's ephemeral range so that no client socket (wrk's, or one left in
# TIME_WAIT by an earlier run) holds it.
free_port() {
	local port low
	low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	[[ $low -gt 11000 ]] || low=11000
	while :; do
		port=$((10000 + RANDOM % (low - 10000)))
		if ! port_open "$port" && [[ " ${PORTS[*]} " != *" $port "* ]]; then
			PORTS+=("$port")
			printf -v "$1" '%s' "$port"
			return
		fi
	done
}

# wait_ready PID PORT LOGFILE: the process is alive and answers GET / with 200.
# wait_ready PID PORT LOGFILE [PATH]: until GET PATH (default /public/ready) answers 200.
wait_ready() {
	local pid=$1 port=$2 logfile=$3 path=${4:-/public/ready} status
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || {
			tail -n 20 "$logfile" >&2
			die "the process on port $port exited during startup (log above)"
		}
		if port_open "$port"; then
			status=$(http_status "$port" "$path")
			[[ $status == 200 ]] && return
			die "GET http://127.0.0.1:$port$path answered '$status', expected 200"
		fi
		sleep 0.1
	done
	die "nothing listens on port $port after 10 s"
}

http_status() {
	local line
	exec 3<>"/dev/tcp/127.0.0.1/$1"
	printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "${2:-/}" >&3
	IFS=' ' read -r _ line _ <&3 || true
	exec 3<&-
	echo "$line"
}

# -------------------------------------------------------------------------- servers

# start_nginx NAME PORT CONFIG_BODY CPU_PREFIX...: one nginx master in the foreground
# (daemon off) with its own prefix, started under CPU_PREFIX (nice, taskset).
start_nginx() {
	local name=$1 port=$2 dir=$WORK/$1 conf=$3
	shift 3
	mkdir -p "$dir/tmp"
	# nginx drops its workers to an unprivileged user when started as root.
	chmod 755 "$WORK" "$dir" "$dir/tmp"
	cat >"$dir/nginx.conf" <<-EOF
		pid $dir/nginx.pid;
		error_log $dir/error.log warn;
		$conf
	EOF
	"$@" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" \
		-g 'daemon off;' >"$dir/console.log" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	LAST_PID=$pid
	wait_ready "$pid" "$port" "$dir/console.log"
	log "$name: nginx on 127.0.0.1:$port"
}

# About 1 KB of body: small enough that the test measures per-request overhead.
BODY="ok $(printf 'x%.0s' $(seq 1020))"

http_common() {
	cat <<-EOF
		access_log off;
		keepalive_timeout 65s;
		keepalive_requests 1000000;
		client_body_temp_path $WORK/$1/tmp/body;
		proxy_temp_path $WORK/$1/tmp/proxy;
	EOF
}

start_upstream() {
	start_nginx upstream "$1" "
worker_processes 1;
events { worker_connections 4096; }
http {
$(http_common upstream)
server {
	listen 127.0.0.1:$1 backlog=4096;
	location / { default_type text/plain; return 200 \"$BODY\n\"; }
}
}" "${UPSTREAM_PREFIX[@]}"
}

# The same per-request job the sidecar does today: keep-alive to the upstream, original
# Host, X-Forwarded-For/Proto/Host, a generated request id sent up and back. The idle
# upstream connection cache is at least CONNECTIONS (the sidecar's pool keeps up to 512):
# a smaller one makes nginx open and close upstream connections under load.
start_nginx_proxy() {
	local UPSTREAM_KEEPALIVE=$((CONNECTIONS > 64 ? CONNECTIONS : 64))
	start_nginx nginx-proxy "$1" "
worker_processes $SERVER_CORES;
events { worker_connections 4096; }
http {
$(http_common nginx-proxy)
upstream app {
	server 127.0.0.1:$2;
	keepalive $UPSTREAM_KEEPALIVE;
	keepalive_requests 1000000;
	keepalive_timeout 60s;
}
server {
	listen 127.0.0.1:$1 backlog=4096;
	location / {
		proxy_pass http://app;
		proxy_http_version 1.1;
		proxy_set_header Connection \"\";
		proxy_set_header Host \$host;
		proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
		proxy_set_header X-Forwarded-Proto \$scheme;
		proxy_set_header X-Forwarded-Host \$host;
		proxy_set_header X-Request-Id \$request_id;
		add_header X-Request-Id \$request_id;
	}
}
}" "${SERVER_PREFIX[@]}"
}

# start_emulator PORT SIDECAR_PORT...: the local Cognito emulator (its demo users), with
# the callback URL of every sidecar registered on local-client.
start_emulator() {
	local port=$1 dir=$WORK/emulator sp callbacks='' logouts=''
	shift
	mkdir -p "$dir"
	for sp in "$@"; do
		callbacks+="http://127.0.0.1:$sp/oauth2/callback, "
		logouts+="http://127.0.0.1:$sp/, "
	done
	cat >"$dir/emulator.yaml" <<-EOF
		listen: 127.0.0.1:$port
		region: us-east-1
		user_pool_id: us-east-1_LOCAL
		clients:
		  - client_id: local-client
		    client_secret: local-secret
		    callback_urls: [${callbacks%, }]
		    logout_urls: [${logouts%, }]
		    allowed_scopes: [openid, email, profile]
		users:
		  - username: alice
		    password: Passw0rd!
		    attributes: {email: alice@example.com, email_verified: "true"}
		    groups: [admins]
	EOF
	env -u RUST_LOG "$SIDECAR_BIN" emulator -c "$dir/emulator.yaml" >"$dir/stderr.log" 2>&1 &
	PIDS+=("$!")
	wait_ready "$!" "$port" "$dir/stderr.log" /us-east-1_LOCAL/.well-known/jwks.json
	log "emulator on 127.0.0.1:$port"
}

# start_sidecar NAME PORT UPSTREAM_PORT LOG_LEVEL: everything under /public/ is public,
# the rest needs a session cookie or a bearer token from the emulator.
start_sidecar() {
	local name=$1 port=$2 dir=$WORK/$1
	mkdir -p "$dir"
	cat >"$dir/config.yaml" <<-EOF
		listen: 127.0.0.1:$port
		upstream: http://127.0.0.1:$3
		public_url: http://127.0.0.1:$port
		cognito:
		  region: us-east-1
		  user_pool_id: us-east-1_LOCAL
		  client_id: local-client
		  client_secret: local-secret
		  domain: http://127.0.0.1:$EMULATOR_PORT
		  scopes: [openid, email, profile]
		  issuer: http://127.0.0.1:$EMULATOR_PORT/us-east-1_LOCAL
		session:
		  secret: $("$SIDECAR_BIN" secret)
		access:
		  public_paths: ["/public/*"]
		log:
		  format: text
		  level: $4
	EOF
	# RUST_LOG and COGNITO_SIDECAR_* from the caller's shell would override the file.
	local unset=(-u RUST_LOG) var
	for var in $(compgen -e); do
		[[ $var == COGNITO_SIDECAR_* ]] && unset+=(-u "$var")
	done
	env "${unset[@]}" "$SIDECAR_BIN" check-config -c "$dir/config.yaml" >/dev/null ||
		die "the generated sidecar config was rejected (see above)"
	env "${unset[@]}" "${SERVER_PREFIX[@]}" "$SIDECAR_BIN" -c "$dir/config.yaml" \
		>"$dir/stderr.log" 2>&1 &
	local pid=$! workers
	PIDS+=("$pid")
	LAST_PID=$pid
	wait_ready "$pid" "$port" "$dir/stderr.log"
	# One cs-worker-<n> thread per server.workers (default: the CPUs taskset leaves it).
	workers=$(cat /proc/"$pid"/task/*/comm 2>/dev/null | grep -c '^cs-worker-' || true)
	log "$name: sidecar on 127.0.0.1:$port, log.level $4, $workers worker thread(s)"
	SIDECAR_WORKERS=$workers
}

# ----------------------------------------------------------------------- measuring

# row NAME URL [--cpu "PID..."] [--script FILE] [wrk options...]: queue a measurement.
# --cpu names the processes whose CPU time per request is reported (children included).
row() {
	ROW_NAMES+=("$1")
	shift
	ROW_ARGS+=("$(printf '%q ' "$@")")
}

# run_wrk OUTFILE WRK_ARGS...: wrk in the background and waited for, so that a signal
# reaches the EXIT trap at once and cleanup can stop wrk too.
run_wrk() {
	local outfile=$1
	shift
	"${WRK_PREFIX[@]}" "$@" >"$outfile" &
	WRK_PID=$!
	wait "$WRK_PID" || die "wrk failed: $(cat "$outfile")"
	WRK_PID=
}

# cpu_ticks PID...: user + system clock ticks used so far by these processes and their
# direct children (nginx workers).
cpu_ticks() {
	local pid p kids total=0 ticks
	for pid in "$@"; do
		kids=$(cat /proc/"$pid"/task/*/children 2>/dev/null || true)
		for p in $pid $kids; do
			ticks=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' /proc/"$p"/stat 2>/dev/null || echo 0)
			total=$((total + ticks))
		done
	done
	echo "$total"
}

# measure NAME URL [--cpu "PID..."] [--script FILE] [wrk options...]: warm up, then one
# measured run; appends "NAME req/s p50_us p99_us errors cpu_us_per_request" (tab
# separated; -1 when no --cpu) to $WORK/samples.tsv.
measure() {
	local name=$1 url=$2 script='' cpu_pids=()
	shift 2
	while [[ $# -gt 0 ]]; do
		case $1 in
		--script) script=$2 ;;
		--cpu) read -ra cpu_pids <<<"$2" ;;
		*) break ;;
		esac
		shift 2
	done
	local lua
	lua=$(mktemp "$WORK/wrk-XXXXXX")
	{
		if [[ -n $script ]]; then cat "$script"; fi
		cat "$BENCH_DIR/lua/report.lua"
	} >"$lua"
	local wrk=(wrk "-t$THREADS" "-c$CONNECTIONS" --latency -s "$lua" "$@")
	run_wrk "$WORK/wrk.out" "${wrk[@]}" "-d$WARMUP" "$url"
	local out line ticks=-1 before
	if [[ ${#cpu_pids[@]} -gt 0 ]]; then before=$(cpu_ticks "${cpu_pids[@]}"); fi
	run_wrk "$WORK/wrk.out" "${wrk[@]}" "-d$DURATION" "$url"
	if [[ ${#cpu_pids[@]} -gt 0 ]]; then ticks=$(($(cpu_ticks "${cpu_pids[@]}") - before)); fi
	out=$(<"$WORK/wrk.out")
	line=$(grep '^BENCH ' <<<"$out") || die "$name: wrk printed no report:"$'\n'"$out"
	awk -v name="$name" -v ticks="$ticks" -v hz="$(getconf CLK_TCK)" '{
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		cpu = ticks < 0 || v["requests"] == 0 ? -1 : ticks / hz * 1e6 / v["requests"]
		printf "%s\t%.1f\t%d\t%d\t%d\t%.2f\n", name, v["requests"] / (v["duration_us"] / 1e6),
			v["p50_us"], v["p99_us"], v["status_errors"] + v["socket_errors"], cpu
	}' <<<"$line" >>"$WORK/samples.tsv"
	log "$(tail -n 1 "$WORK/samples.tsv" | tr '\t' ' ')"
}

# Rows run round-robin RUNS times, so that a slow phase of the machine hits every row.
run_rows() {
	local run i
	for run in $(seq "$RUNS"); do
		for i in "${!ROW_NAMES[@]}"; do
			log "run $run/$RUNS: ${ROW_NAMES[$i]}"
			eval "measure \"\${ROW_NAMES[$i]}\" ${ROW_ARGS[$i]}"
		done
	done
}

# The median run of each row (by req/s), as a table with ratios to the baseline row.
report() {
	local name
	{
		echo "# cognito-sidecar benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "# commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)," \
			"$(nproc --all) CPUs, $("$SIDECAR_BIN" --version), $(nginx -v 2>&1 | sed 's/.*: //'), $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
		echo "# wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency (after a $WARMUP warm-up), median of $RUNS run(s)"
		if [[ $PIN -eq 1 ]]; then
			echo "# pinning: wrk on CPU $WRK_CPUS, proxy under test on CPU $SERVER_CPUS, upstream on CPU $UPSTREAM_CPUS"
		else
			echo "# pinning: off"
		fi
		echo "# nice $NICE for wrk and the servers"
		echo "# proxy workers: nginx worker_processes $SERVER_CORES, sidecar ${SIDECAR_WORKERS:-?} worker thread(s)"
		echo "# load average before: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg)"
		echo
		for name in "${ROW_NAMES[@]}"; do
			awk -F'\t' -v n="$name" '$1 == n' "$WORK/samples.tsv" | sort -t$'\t' -k2,2g |
				awk -v runs="$RUNS" 'NR == int((runs + 1) / 2)'
		done | awk -F'\t' -v base="$BASELINE" '
			{ rows[NR] = $0; if ($1 == base) direct = $2; rps[$1] = $2 }
			END {
				printf "%-26s %10s %9s %9s %7s %12s %16s\n", "name", "req/s", "p50", "p99", "errors", "cpu_us/req", "ratio_to_direct"
				for (i = 1; i <= NR; i++) {
					split(rows[i], f, "\t")
					cpu = f[6] < 0 ? "-" : sprintf("%.1f", f[6])
					printf "%-26s %10.0f %7.2fms %7.2fms %7d %12s %16.2f\n", f[1], f[2], f[3] / 1000, f[4] / 1000, f[5], cpu, direct ? f[2] / direct : 0
				}
				if (rps["nginx"] && rps["sidecar"]) {
					r = rps["sidecar"] / rps["nginx"]
					printf "\nratio sidecar/nginx (plain proxying): %.2f (target >= 1.00: %s)\n", r, (r >= 1 ? "met" : "NOT met")
					split("sidecar cookie session|sidecar bearer (cached)", auth, "|")
					for (a in auth) if (rps[auth[a]]) {
						own = rps[auth[a]] / rps["sidecar"]; ng = rps[auth[a]] / rps["nginx"]
						printf "%s: %.2f x public path, %.2f x nginx (targets >= 0.90: %s)\n", auth[a], own, ng, (own >= 0.9 && ng >= 0.9 ? "met" : "NOT met")
					}
				}
			}'
	}
}

# ---------------------------------------------------------------------------- main

# Signs in once (bench/signin.py) and keeps the session cookie and a bearer token.
sign_in() {
	local out
	out=$(python3 "$BENCH_DIR/signin.py" "http://127.0.0.1:$SIDECAR_PORT" \
		"http://127.0.0.1:$EMULATOR_PORT" alice 'Passw0rd!' local-client local-secret) ||
		die "signing in for the authenticated rows failed"
	SESSION_COOKIE=$(sed -n 's/^COOKIE //p' <<<"$out")
	BEARER_TOKEN=$(sed -n 's/^BEARER //p' <<<"$out")
	[[ -n $SESSION_COOKIE && -n $BEARER_TOKEN ]] || die "sign-in gave no cookie or token"
	log "signed in: session cookie ${#SESSION_COOKIE} bytes, bearer token ${#BEARER_TOKEN} bytes"
}

add_rows() {
	row direct "http://127.0.0.1:$UPSTREAM_PORT/public/page" --cpu "$UPSTREAM_PID"
	row nginx "http://127.0.0.1:$NGINX_PORT/public/page" --cpu "$NGINX_PID"
	row sidecar "http://127.0.0.1:$SIDECAR_PORT/public/page" --cpu "$SIDECAR_PID"
	row "sidecar cookie session" "http://127.0.0.1:$SIDECAR_PORT/app/page" --cpu "$SIDECAR_PID" \
		-H "Cookie: $SESSION_COOKIE"
	row "sidecar bearer (cached)" "http://127.0.0.1:$SIDECAR_PORT/app/page" --cpu "$SIDECAR_PID" \
		-H "Authorization: Bearer $BEARER_TOKEN"
	row "sidecar (access log on)" "http://127.0.0.1:$SIDECAR_LOG_PORT/public/page" --cpu "$SIDECAR_LOG_PID"
}

main() {
	while [[ $# -gt 0 ]]; do
		case $1 in
		--no-build) BUILD=0 ;;
		-h | --help)
			usage
			exit 0
			;;
		*) die "unknown argument $1 (try --help)" ;;
		esac
		shift
	done
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	ensure_tools
	build
	decide_pinning
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/cognito-sidecar-bench.XXXXXX")

	free_port UPSTREAM_PORT
	free_port NGINX_PORT
	free_port SIDECAR_PORT
	free_port SIDECAR_LOG_PORT
	free_port EMULATOR_PORT
	start_emulator "$EMULATOR_PORT" "$SIDECAR_PORT" "$SIDECAR_LOG_PORT"
	start_upstream "$UPSTREAM_PORT"
	UPSTREAM_PID=$LAST_PID
	start_nginx_proxy "$NGINX_PORT" "$UPSTREAM_PORT"
	NGINX_PID=$LAST_PID
	start_sidecar sidecar-info "$SIDECAR_LOG_PORT" "$UPSTREAM_PORT" info
	SIDECAR_LOG_PID=$LAST_PID
	start_sidecar sidecar "$SIDECAR_PORT" "$UPSTREAM_PORT" warn
	SIDECAR_PID=$LAST_PID

	sign_in
	LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
	add_rows
	run_rows
	mkdir -p "$RESULTS_DIR"
	report | tee "$RESULTS_DIR/latest.txt"
}

# Sourcing the file (for experiments) defines the functions without running anything.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	main "$@"
fi

#!/usr/bin/env bash
# User-space instructions per request of one sidecar row, counted by valgrind's
# callgrind: unlike req/s and CPU time, the count barely moves with the load of a shared
# machine, so two builds can be compared (A/B) while other work runs. It says nothing
# about the kernel's share or about latency; use run.sh for those.
#
# Usage: bench/instructions.sh BIN CONFIG URL [wrk options, e.g. -H "Cookie: ..."]
#   BIN     the sidecar binary (a build with symbols, CARGO_PROFILE_RELEASE_STRIP=false
#           CARGO_PROFILE_RELEASE_DEBUG=line-tables-only, makes the profile readable)
#   CONFIG  a sidecar config whose upstream (and Cognito, for authenticated rows) is
#           running; `server.workers: 1` keeps the profile to one thread
#   URL     what wrk requests
# Leaves the profile in $OUT (default /tmp/cognito-sidecar-callgrind.out) for
# `callgrind_annotate --inclusive=yes $OUT`. Needs valgrind and wrk (Debian packages).
set -euo pipefail
[[ $# -ge 3 ]] || { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
BIN=$1 CONFIG=$2 URL=$3
shift 3
OUT=${OUT:-/tmp/cognito-sidecar-callgrind.out}
for tool in valgrind callgrind_control wrk curl; do
	command -v "$tool" >/dev/null || { echo "instructions.sh: $tool is missing" >&2; exit 1; }
done
work=$(mktemp -d)
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/cg.out" \
	"$BIN" -c "$CONFIG" >"$work/sidecar.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 120); do
	curl -s -o /dev/null "$URL" && break
	sleep 0.5
done
wrk -t1 -c16 -d3s "$@" "$URL" >/dev/null # warm caches and pools, uncounted
callgrind_control -i on "$pid" >/dev/null 2>&1
wrk -t1 -c16 -d5s "$@" "$URL" >"$work/wrk.txt"
callgrind_control -i off "$pid" >/dev/null 2>&1
callgrind_control -d "$pid" >/dev/null 2>&1
sleep 1
requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.txt")
cp "$work/cg.out.1" "$OUT"
total=$(callgrind_annotate "$OUT" 2>/dev/null | awk '/PROGRAM TOTALS/ && !seen {gsub(/,/, "", $1); print $1; seen = 1}')
echo "requests ${requests} (non-2xx ${non2xx:-0}), instructions/request $((total / requests))"

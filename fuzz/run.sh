#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS each, one at a time, on the
# stable toolchain (`--sanitizer none`), and prints per target: runtime, executions
# (libFuzzer's final stat::number_of_executed_units) and crashes found.
#
#   fuzz/run.sh SECONDS [TARGET...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). Seeds come from fuzz/seeds/<target>/
# (committed); the growing corpus goes to fuzz/corpus/<target>/, crashing inputs to
# fuzz/artifacts/<target>/ and full logs to fuzz/logs/<target>.log (all git-ignored).
# Exits 1 when any target crashed.
set -euo pipefail

usage() { echo "usage: fuzz/run.sh SECONDS [TARGET...]" >&2; exit 2; }
[[ $# -ge 1 && $1 =~ ^[0-9]+$ && $1 -gt 0 ]] || usage
seconds=$1
shift

cd "$(dirname "$0")"
all=(cookie_header cookie_chunks sealed_cookie jwt redirect path forwarded_for headers config emulator_config upstream_response)
targets=("${@:-${all[@]}}")

mkdir -p logs
cargo fuzz build --sanitizer none >logs/build.log 2>&1 || { cat logs/build.log >&2; exit 1; }
bin_dir=target/x86_64-unknown-linux-gnu/release

# Per-target libFuzzer options: paths may be longer than the 4 KiB default so the
# length limit itself is exercised.
extra_args() {
  case $1 in
    path) echo "-max_len=12000" ;;
    *) echo "" ;;
  esac
}

printf '%-16s %8s %14s %8s\n' target seconds executions crashes
failed=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  before=$(find "artifacts/$t" -type f | wc -l)
  start=$(date +%s)
  # shellcheck disable=SC2046
  "$bin_dir/$t" "corpus/$t" "seeds/$t" \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="artifacts/$t/" $(extra_args "$t") \
    >"logs/$t.log" 2>&1 || true
  took=$(( $(date +%s) - start ))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$' | tail -1)
  after=$(find "artifacts/$t" -type f | wc -l)
  crashes=$((after - before))
  [[ $crashes -eq 0 ]] || failed=1
  printf '%-16s %8s %14s %8s\n' "$t" "$took" "${execs:-?}" "$crashes"
  if [[ $crashes -gt 0 ]]; then
    grep -m3 -E 'panicked|invariant broken|ERROR: libFuzzer' "logs/$t.log" | sed 's/^/    /' || true
  fi
done
exit "$failed"

#!/usr/bin/env bash
# The whole real-Xen matrix on a busy host: LOADERS shell busy loops (default: one per core,
# bounded by LOAD_SECONDS, default 2 h) keep every core busy while RUNS (default 2) whole-matrix
# runs follow each other. Shows that the load-scaled budgets hold (README.md here, "Budgets on a
# busy host"); each run's report is in OUT/run-N/.
#
#   scripts/xen-in-qemu/loaded-runs.sh [BUILD_DIR] [OUT_DIR]
#
# The load command, as run here (one per core):
#   timeout "$LOAD_SECONDS" sh -c 'while :; do :; done'
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/lib/common.sh"
build=${1:-$top/build}
out=${2:-$build/xen-e2e-loaded}
runs=${RUNS:-2} loaders=${LOADERS:-$(nproc)} seconds=${LOAD_SECONDS:-7200}
mkdir -p "$out"
pids=()
for ((i = 0; i < loaders; i++)); do
  timeout "$seconds" sh -c 'while :; do :; done' &
  pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null' EXIT
progress "load: $loaders busy loop(s) (timeout $seconds s); $runs whole-matrix run(s)"
status=0
for ((r = 1; r <= runs; r++)); do
  s=$(date +%s)
  "$top/scripts/xen-e2e.sh" "$build" "$out/run-$r" >"$out/run-$r.log" 2>&1 || status=1
  progress "run $r: $(tail -n 1 "$out/run-$r/report.txt" 2>/dev/null || echo 'no report'), $(($(date +%s) - s)) s; max load factor $(grep -ho '"max_factor": [0-9.]*' "$out"/run-"$r"/summary.json "$out"/run-"$r"/part-*/summary.json 2>/dev/null | awk '{ if ($2 > m) m = $2 } END { print m }')"
done
exit $status

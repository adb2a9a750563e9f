#!/usr/bin/env bash
# Benchmarks, each reported as a ratio to a baseline measured in the same run (never an
# absolute-time assertion). Median of RUNS (default 9) runs each.
#
#   inspect  : `elfwrap inspect` of a 4 MiB image  vs  `cp` of the same file   (target <= 2x)
#   wrap     : `elfwrap wrap` of a 4 MiB image     vs  `cp` of the same file   (target <= 1.5x)
#              and vs `dd conv=fsync` (a copy as durable as elfwrap's write: fsync before rename)
#              and vs `objcopy --update-section` of a 4 MiB section in an ELF (binutils' way of
#              rewriting an ELF: no fsync)                                          (reported)
#   wrap RSS : peak RSS of the wrap                vs  3 x image + 8 MiB        (target: below)
#
#   scripts/bench.sh [--json FILE]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib/common.sh"
RUNS=${RUNS:-9}
json_out=""
[ "${1:-}" = "--json" ] && json_out=$2
bin=$top/build/tools/elfwrap/elfwrap
[ -x "$bin" ] || "$top/scripts/setup.sh" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$top/build/tests/mkfixture" xen-pvh-4m "$work/img.fd"
size=$(stat -c %s "$work/img.fd")

# median_ns CMD...: median wall time in ns of RUNS runs (after one warm-up run).
median_ns() {
  local t=() i s e
  "$@" >/dev/null 2>&1
  for ((i = 0; i < RUNS; i++)); do
    s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N)
    t+=($((e - s)))
  done
  printf '%s\n' "${t[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r <= t) ? "ok" : "OVER TARGET" }'; }

results=()
report() {  # name value target unit
  printf '%-28s %8s (target <= %s%s) %s\n' "$1" "$2$4" "$3" "$4" "$(verdict "$2" "$3")"
  results+=("{\"name\":\"$1\",\"value\":$2,\"target\":$3}")
}

cp_ns=$(median_ns cp "$work/img.fd" "$work/copy.fd")
inspect_ns=$(median_ns "$bin" inspect "$work/img.fd")
echo "image: $size bytes; median of $RUNS: cp $((cp_ns / 1000)) us, inspect $((inspect_ns / 1000)) us"
report "inspect/cp" "$(ratio "$inspect_ns" "$cp_ns")" 2 x
if "$bin" --help | grep -qE "^  wrap"; then
  wrap_ns=$(median_ns "$bin" wrap "$work/img.fd" -o "$work/out.elf")
  echo "wrap $((wrap_ns / 1000)) us"
  report "wrap/cp" "$(ratio "$wrap_ns" "$cp_ns")" 1.5 x
  dd_ns=$(median_ns dd if="$work/img.fd" of="$work/dd.fd" bs=1M conv=fsync status=none)
  echo "dd conv=fsync $((dd_ns / 1000)) us"
  report "wrap/durable-copy" "$(ratio "$wrap_ns" "$dd_ns")" 1.5 x
  objcopy -I binary -O elf64-x86-64 "$work/img.fd" "$work/blob.o"
  objcopy_ns=$(median_ns objcopy --update-section .data="$work/img.fd" "$work/blob.o" "$work/blob2.o")
  echo "objcopy --update-section $((objcopy_ns / 1000)) us"
  report "wrap/objcopy" "$(ratio "$wrap_ns" "$objcopy_ns")" 1.5 x
  rss_kb=$( { /usr/bin/time -f '%M' "$bin" wrap "$work/img.fd" -o "$work/out.elf" >/dev/null; } 2>&1 | tail -1)
  limit_kb=$(( (3 * size + 8 * 1024 * 1024) / 1024 ))
  echo "wrap peak RSS ${rss_kb} KiB, limit ${limit_kb} KiB"
  report "wrap-rss/limit" "$(ratio "$rss_kb" "$limit_kb")" 1 x
fi
if [ -n "$json_out" ]; then
  (IFS=,; echo "[${results[*]}]") >"$json_out"
fi

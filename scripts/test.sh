#!/usr/bin/env bash
# The test command: set up (packages, build), then
#   1. every ctest test in the normal build (unit, integration, real clients, real Xen),
#   2. the same tests under AddressSanitizer + UndefinedBehaviorSanitizer (clang),
#   3. the build without Xen (ELFWRAP_WITH_XEN=OFF) and its tests,
#   4. each libFuzzer target for a bounded time (FUZZ_SECONDS, default 60) on the seed corpus.
# Ends with one line summing them all: "total: N passed, N failed".
#
#   scripts/test.sh                 all four
#   scripts/test.sh --quick         only step 1
#   scripts/test.sh --pass P        one step (the GitLab pipeline's test jobs): unit (step 1
#                                   without the debs and xen-e2e tests, which are jobs of their
#                                   own there), asan, noxen, fuzz
# Each ctest run also writes JUnit (DIR/ctest-junit.xml).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib/common.sh"
quick=0 only=
case "${1:-}" in
  --quick) quick=1 ;;
  --pass)
    only=${2:-}
    case $only in unit|asan|noxen|fuzz) ;; *) echo "test.sh: --pass unit|asan|noxen|fuzz" >&2; exit 2 ;; esac ;;
  "") ;;
  *) echo "test.sh: unknown option '$1' (--quick, --pass P)" >&2; exit 2 ;;
esac
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
# want STEP: whether this run does STEP.
want() { if [ -n "$only" ]; then [ "$only" = "$1" ]; else [ "$quick" = 0 ] || [ "$1" = unit ]; fi; }

passed=0 failed=0
# run_ctest DIR ARGS...: runs ctest, adds its counts to the totals.
run_ctest() {
  local dir=$1; shift
  local log
  log=$(mktemp)
  (cd "$dir" && ctest --output-on-failure --output-junit "$dir/ctest-junit.xml" "$@") 2>&1 | tee "$log"
  local line
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
  if [ -z "$line" ]; then
    echo "test.sh: ctest in $dir printed no summary" >&2
    failed=$((failed + 1))
  else
    local f t
    f=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
    t=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
    passed=$((passed + t - f)); failed=$((failed + f))
  fi
  rm -f "$log"
}

set -e
flags=()
want asan && flags+=(--asan)
want fuzz && flags+=(--fuzz)
"$top/scripts/setup.sh" "${flags[@]}"
if want fuzz; then
  cmake -S "$top" -B "$top/build-fuzz" -DELFWRAP_FUZZ_SECONDS="$FUZZ_SECONDS" >/dev/null 2>&1 || true
  cmake --build "$top/build-fuzz" >/dev/null
fi
set +e

if want unit; then
  progress "tests: normal build"
  if [ -n "$only" ]; then run_ctest "$top/build" -LE "xen-e2e|debs"; else run_ctest "$top/build"; fi
fi
if want asan; then
  progress "tests: ASan+UBSan build"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_ctest "$top/build-asan" -LE "xen-e2e|patches|debs"
fi
if want noxen; then
  # Without Xen (ELFWRAP_WITH_XEN=OFF: no libxen-dev, as a packager may build elfwrap alone):
  # elfwrap and its tests build and pass; pvhboot, xen-pflash and the Xen checks are left out.
  progress "tests: build without Xen (ELFWRAP_WITH_XEN=OFF)"
  cmake -S "$top" -B "$top/build-noxen" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DELFWRAP_WITH_XEN=OFF >/dev/null &&
    cmake --build "$top/build-noxen" -j"$(nproc)" >/dev/null || { echo "test.sh: the build without Xen failed" >&2; failed=$((failed + 1)); }
  [ -d "$top/build-noxen" ] && run_ctest "$top/build-noxen" -LE "fuzz-run"
fi
if want fuzz; then
  progress "fuzzing: ${FUZZ_SECONDS}s per target"
  run_ctest "$top/build-fuzz" -L fuzz-run -V
fi
if [ -z "$only" ] && [ -f "$top/build/xen-e2e/report.txt" ]; then
  progress "real Xen (build/xen-e2e/: junit.xml, summary.json, serial.log):"
  grep -v '^    |' "$top/build/xen-e2e/report.txt"
  cat "$top"/build/xen-e2e/serial.log "$top"/build/xen-e2e/part-*/serial.log 2>/dev/null | grep -ah '@@BENCH' | sed 's/^.*@@BENCH /bench: /'
fi
progress "done"
echo "total: $passed passed, $failed failed"
[ "$failed" = 0 ]

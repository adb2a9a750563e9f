#!/usr/bin/env bash
# fuzz-one.sh FUZZER SEED_CORPUS SECONDS: run one libFuzzer target for a bounded time on a
# scratch copy of the seed corpus; print the number of executions; a crash fails the test and
# leaves the crashing input in the scratch directory, whose path is printed, and prints it
# compressed (the seed too) so that a CI log is enough to reproduce it.
set -euo pipefail
fuzzer=$(realpath "$1") seeds=$(realpath "$2") seconds=$3
work=$(mktemp -d /tmp/elfwrap-fuzz.XXXXXX)
mkdir -p "$work/corpus"
cp "$seeds"/* "$work/corpus/"
cd "$work"
if "$fuzzer" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
     -print_final_stats=1 corpus >"$work/log" 2>&1; then
  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$work/log" || true
  echo "fuzz: $(basename "$fuzzer") ran ${seconds}s, corpus $(ls corpus | wc -l) inputs"
  rm -rf "$work"
else
  tail -40 "$work/log"
  grep -m1 '^INFO: Seed:' "$work/log" || true
  # The crashing input, small enough to carry in a CI log: decode with
  # `base64 -d | gunzip > crash`, then run `FUZZER crash` to reproduce.
  for c in "$work"/crash-* "$work"/timeout-* "$work"/oom-*; do
    [ -e "$c" ] || continue
    echo "fuzz: $(basename "$c") ($(stat -c %s "$c") bytes), gzip | base64:"
    gzip -9nc "$c" | base64 -w 100
  done
  echo "fuzz: $(basename "$fuzzer") FAILED; inputs and log kept in $work"
  exit 1
fi

#!/bin/sh
# bench.sh IMAGE RUNS: wall time from just before the command starts to the domain being
# unpaused, xl create vs pvhboot, for the same image and memory. Prints per run
# "@@BENCH-XL ms" and "@@BENCH-PVHBOOT start_us JSON" (pvhboot's --json result on one line,
# with the CLOCK_BOOTTIME instant it unpaused the domain): the host side (report.py) reads the
# JSON and computes the medians and the ratio.
img=$1 runs=${2:-5}
now_us() { awk '{ printf "%d", $1 * 1000000 }' /proc/uptime; }
printf 'name = "bench-xl"\ntype = "pvh"\nkernel = "%s"\nmemory = 256\nvcpus = 1\non_reboot = "destroy"\n' "$img" >/tmp/bench-xl.cfg
i=0
while [ $i -lt "$runs" ]; do
  t0=$(now_us); xl create /tmp/bench-xl.cfg >/dev/null 2>&1; t1=$(now_us)
  xl destroy bench-xl >/dev/null 2>&1
  echo "@@BENCH-XL $(( (t1 - t0) / 1000 ))"
  t0=$(now_us)
  pvhboot run "$img" --memory 256 --name bench-pvh --timeout 0 --json 2>/dev/null >/tmp/bench.json
  echo "@@BENCH-PVHBOOT $t0 $(tr -d '\n' </tmp/bench.json)"
  i=$((i + 1))
done

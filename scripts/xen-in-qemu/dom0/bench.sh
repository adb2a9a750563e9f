#!/bin/sh
# bench.sh IMAGE RUNS: wall time from just before the command starts to the domain being
# unpaused, xl create vs pvhboot, for the same image and memory; prints "@@BENCH" lines with the medians and the ratio.
img=$1 runs=${2:-5}
now_us() { awk '{ printf "%d", $1 * 1000000 }' /proc/uptime; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
printf 'name = "bench-xl"\ntype = "pvh"\nkernel = "%s"\nmemory = 256\nvcpus = 1\non_reboot = "destroy"\n' "$img" >/tmp/bench-xl.cfg
: >/tmp/xl.times; : >/tmp/pvh.times
i=0
while [ $i -lt "$runs" ]; do
  t0=$(now_us); xl create /tmp/bench-xl.cfg >/dev/null 2>&1; t1=$(now_us)
  xl destroy bench-xl >/dev/null 2>&1
  echo $(( (t1 - t0) / 1000 )) >>/tmp/xl.times
  # pvhboot reports the CLOCK_BOOTTIME instant it unpaused the domain (/proc/uptime's clock):
  # measured from just before its start, like xl create (exec and dynamic linking included).
  t0=$(now_us)
  pvhboot run "$img" --memory 256 --name bench-pvh --timeout 0 --json 2>/dev/null |
    awk -F': ' -v t0="$t0" '/"unpaused_boottime_s"/ { gsub(/,/, "", $2); printf "%d\n", ($2 * 1000000 - t0) / 1000 }' >>/tmp/pvh.times
  i=$((i + 1))
done
xl_ms=$(median </tmp/xl.times) pvh_ms=$(median </tmp/pvh.times)
echo "@@BENCH xl-create-to-unpaused ms: $(tr '\n' ' ' </tmp/xl.times)(median $xl_ms)"
echo "@@BENCH pvhboot-to-unpaused ms: $(tr '\n' ' ' </tmp/pvh.times)(median $pvh_ms)"
awk -v a="$pvh_ms" -v b="$xl_ms" 'BEGIN { printf "@@BENCH ratio pvhboot/xl = %.2f (target <= 0.50)\n", a / b }'

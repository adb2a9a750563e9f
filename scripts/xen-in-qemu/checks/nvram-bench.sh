# Benchmarks of the emulated flash (reported by the host's report.py from the @@BENCH-NVRAM lines):
#  - time to the UEFI shell with pvhboot, without --vars and with it (a store a first boot
#    initialised), 5 boots each, alternating (the medians go into the ratio): the JSON of each run;
#  - the guest accesses xen-pflash served in one such boot, and the time it spent answering them
#    and starting (its exit and start lines);
#  - one setvar: a startup.nsh loop of 40 setvars with the emulated flash and without (OVMF's
#    variables in RAM), from the console times of "LOOP-SET 1" and "LOOP-SET 40".
. /harness/checks/lib.sh
elfwrap vars blank --layout 0x20000 -o vars.fd || exit 1
t=$(scaled 120)
pvhboot run fw.elf --memory 256 --name "$NAME-init" --vars vars.fd --timeout "$t" --expect 'UEFI Interactive Shell' \
  --console-log init.log --json >init.json 2>init.err || { cat init.err; fail "first boot"; }
echo "@@BENCH-NVRAM first_boot $(tr -d '\n' <init.json)"
boots=5
for i in $(seq $boots); do
  for mode in without with; do
    args=; [ $mode = with ] && args="--vars vars.fd"
    pvhboot run fw.elf --memory 256 --name "$NAME-$mode-$i" $args --timeout "$t" --expect 'UEFI Interactive Shell' \
      --console-log "$mode-$i.log" --json >"$mode-$i.json" 2>"$mode-$i.err" || { cat "$mode-$i.err"; fail "$mode $i"; }
    echo "@@BENCH-NVRAM shell_$mode $(tr -d '\n' <"$mode-$i.json")"
  done
done
echo "@@BENCH-NVRAM served $(grep -m1 'served' with-$boots.err)"
echo "@@BENCH-NVRAM started $(grep -m1 'serving' with-$boots.err)"
for mode in with without; do
  n=$NAME-loop-$mode
  if [ $mode = with ]; then guest "$n" /jobs/shared/nvram-loop-disk "nvram = \"$PWD/vars.fd\""; else guest "$n" /jobs/shared/nvram-loop-disk; fi ||
    fail "xl create"
  t1=$(wait_console "$n" "LOOP-SET 1$cr?\$" 200) || fail "loop $mode did not start"
  t40=$(wait_console "$n" "LOOP-SET 40$cr?\$" 200) || fail "loop $mode did not end"
  echo "@@BENCH-NVRAM setvar_$mode first_ms=$t1 last_ms=$t40 count=39"
  xl destroy "$n"
done
say "ok"

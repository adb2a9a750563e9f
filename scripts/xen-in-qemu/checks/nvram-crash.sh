# Crash consistency: a startup.nsh loop sets ElfwrapLoop1..40 and prints "LOOP-SET n" after each
# setvar returns; xen-pflash is killed with SIGKILL soon after "LOOP-SET POINT", for three
# points. Each time `elfwrap vars check` accepts the file, and the next boot (another startup.nsh
# showing ElfwrapLoop1..40) has every variable whose LOOP-SET line was printed.
. /harness/checks/lib.sh
elfwrap vars blank --layout 0x20000 -o vars.fd || exit 1
round=0
for point in 3 14 29; do
  round=$((round + 1))
  n=$NAME-$round
  guest "$n" /jobs/shared/nvram-loop-disk "nvram = \"$PWD/vars.fd\"" || fail "xl create"
  wait_console "$n" "LOOP-SET $point$cr?\$" 200 >/dev/null || { tail -5 "$(console_log "$n")"; fail "the loop did not reach $point"; }
  pid=$(pflash_pid "$n")
  kill -KILL "$pid" || fail "no xen-pflash to kill"
  sleep 1
  done_n=$(sed 's/\x1b\[[0-9;]*[A-Za-z]//g; s/\r//g' "$(console_log "$n")" | sed -n 's/^LOOP-SET \([0-9]*\)$/\1/p' | tail -1)
  xl destroy "$n"
  say "round $round: xen-pflash (pid $pid) killed after LOOP-SET $point; the last setvar that returned: $done_n"
  elfwrap vars check fw.elf vars.fd >check.txt || { cat check.txt; fail "vars check refuses the file after the kill"; }
  elfwrap vars list vars.fd >/dev/null || fail "vars list"
  s=$NAME-show-$round
  guest "$s" /jobs/shared/nvram-loop-show-disk "nvram = \"$PWD/vars.fd\"" || fail "xl create"
  wait_console "$s" 'LOOP-SHOW-END' 200 >/dev/null || { tail -5 "$(console_log "$s")"; fail "the show boot did not finish"; }
  wait_gone "$s" 30
  present=$(grep -o 'ElfwrapLoop[0-9]* - 0004 Bytes' "$(console_log "$s")" | sed 's/ElfwrapLoop\([0-9]*\).*/\1/' | sort -n | tr '\n' ' ')
  say "round $round: present after recovery: $present"
  i=1
  while [ "$i" -le "$done_n" ]; do
    case " $present " in *" $i "*) ;; *) fail "ElfwrapLoop$i (its setvar returned) is missing" ;; esac
    i=$((i + 1))
  done
done
say "ok"

# The harness itself: a runner that dies in the middle of a job (as this rig's fault kills dom0's
# busybox processes) is started again by dom0's init, which destroys what the cut-short attempt
# left and runs the job again. First run: leave a paused domain NAME-a and a mark, then kill the
# runner with SIGSEGV. Second run (the mark is there): NAME-a must be gone.
. /harness/checks/lib.sh
if [ -f runner-killed ]; then
  xl domid "$NAME-a" >/dev/null 2>&1 && fail "the paused domain $NAME-a of the first attempt is still there"
  say "ok: started again after the runner was killed, and $NAME-a of the first attempt is gone"
  exit 0
fi
runner=$PPID
cmdline=$(tr '\0' ' ' </proc/"$runner"/cmdline 2>/dev/null)
case $cmdline in
  *runner.sh*) ;;
  *) fail "the parent (pid $runner) is not the runner: $cmdline" ;;
esac
printf '%s\n' "name = \"$NAME-a\"" 'type = "pvh"' 'kernel = "fw.elf"' 'memory = 128' >guest.cfg
xl create -p guest.cfg || fail "xl create -p $NAME-a"
: >runner-killed
say "killing the runner (pid $runner) with SIGSEGV"
kill -SEGV "$runner"

#!/bin/sh
# runner.sh JOBS_DIR: run every job (a directory with job.env) in name order.
#
# job.env (shell variables):
#   NAME         job and domain name
#   KIND         xl (default; starts guest.cfg with $XL create) or cmd (runs CMD, which starts
#                the domain itself and must leave it named NAME, or judges by its own exit code)
#   CMD          for KIND=cmd: a command line run in the job directory (keep it simple, e.g.
#                "sh run.sh", and put the real command in a script: job.env is sourced)
#   XL           for KIND=xl: the xl command creating the domain (default xl; xl-patched is
#                xl, libxl and libxc built with xen-patches/xen-4.17, when the run provides it)
#   CONSOLE_FILE a file the guest's console also goes to (e.g. an HVM guest's serial="file:...")
#   EXPECT       extended regex that must appear on the guest's console (PV console or its
#                port-0xe9 "(dN)" lines) within TIMEOUT seconds
#   FAIL_ON      extended regex that must not appear (default: ASSERT|Xen isn't detected|page fault)
#   TIMEOUT      seconds (default 60)
#   EXPECT_FAIL  1: a negative control, passing when EXPECT does not appear (or FAIL_ON does)
#   EXPECT_FAIL_SEEN  with EXPECT_FAIL=1: extended regex that must appear on the console (or
#                xl create's output) for the failure to count, i.e. it failed for the reason meant
#   SEND         after EXPECT matched: text typed on the guest's PV console (printf format)
#   WAIT_GONE    with SEND: seconds within which the domain must end by itself (e.g. "reset -s")
#   SHOW_CONSOLE 1: report the whole console (last 40 lines) even when the job passed
#   RETRY_TRIPLE_FAULT  1 (default for positive jobs): run once more when Xen logged a triple
#                fault for the job's domain (QEMU TCG's nested SVM emulation, not the guest,
#                under load); the result line says so (attempts=2, first=...)
# Prints "@@RESULT key=value ..." per job and "@@LOG NAME| line" console excerpts.
JOBS=$1
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
# The job's own clock, clk_ms since its start: the sum of the steps of /proc/uptime between
# calls, where a step backwards or of more than 30 s (no poll takes that long) counts as 200 ms
# and is reported as a clock jump. A CI run (QEMU exited 87 s after it started) ended the bench
# job with "timeout ... within 240s": with a deadline on the raw clock only a forward jump of
# dom0's clock (emulated TSC, which follows the host's) ends the loop that early.
clock_start() { clk_last=$(now_ms) clk_ms=0 jumps=; }
clock() {
  clk_now=$(now_ms)
  case $clk_now in ''|*[!0-9]*) clk_now=$clk_last ;; esac
  clk_step=$(( clk_now - clk_last ))
  if [ "$clk_step" -lt 0 ] || [ "$clk_step" -gt 30000 ]; then
    jumps="${jumps:+$jumps,}$clk_step"; clk_step=200
  fi
  clk_ms=$(( clk_ms + clk_step )) clk_last=$clk_now
}
console_of() {  # NAME DOMID
  cat "/var/log/xen/console/guest-$1.log" 2>/dev/null
  [ -n "$CONSOLE_FILE" ] && cat "$CONSOLE_FILE" 2>/dev/null
  [ -n "$2" ] && xl dmesg 2>/dev/null | grep "(d$2)"
}

run_attempt() {
  dir=$1
  NAME= KIND=xl XL=xl CONSOLE_FILE= EXPECT_FAIL_SEEN= CMD= SEND= WAIT_GONE=0 SHOW_CONSOLE=0 EXPECT= FAIL_ON="ASSERT|Xen isn't detected|[Pp]age [Ff]ault" TIMEOUT=60 EXPECT_FAIL=0
  . "$dir/job.env"
  cd "$dir" || return
  echo "@@JOB-START $NAME $(now_ms)"
  status=fail reason= t_first= t_expect= domid=
  clock_start
  if [ "$KIND" = cmd ] && [ -z "$CMD" ]; then
    reason="KIND=cmd but CMD is empty (job.env quoting?)"
  elif [ "$KIND" = cmd ]; then
    # A session (and process group) of its own, so that the clean-up reaches its children too.
    setsid sh -c "$CMD" >"$dir/cmd.log" 2>&1 &
    cmdpid=$!
  else
    # Created paused, its domid noted, then unpaused: a guest that ends within milliseconds (the
    # fixture guest powers off by halting) still has its "(dN)" lines found in Xen's console.
    if $XL create -p guest.cfg >"$dir/create.log" 2>&1; then
      domid=$(xl domid "$NAME" 2>/dev/null)
      xl unpause "$NAME" >>"$dir/create.log" 2>&1
    else
      # The first error names the cause; xl's last line is usually its clean-up.
      reason="xl create failed: $(grep -m1 -E 'panic|error' "$dir/create.log" || tail -1 "$dir/create.log")"
      cp "$dir/create.log" "$dir/console.log"
      # An HVM guest's device model says why it stopped in its own log.
      [ -s "/var/log/xen/qemu-dm-$NAME.log" ] && sed 's/^/qemu-dm: /' "/var/log/xen/qemu-dm-$NAME.log" | tail -n 15 >>"$dir/console.log"
      cp "$dir/console.log" "$dir/create-failure.log"
    fi
  fi
  clock; t_created=$clk_ms
  while [ -z "$reason" ] && clock && [ "$clk_ms" -lt $(( TIMEOUT * 1000 )) ]; do
    [ -z "$domid" ] && domid=$(xl domid "$NAME" 2>/dev/null)
    console_of "$NAME" "$domid" >"$dir/console.log"
    [ -z "$t_first" ] && [ -s "$dir/console.log" ] && { clock; t_first=$clk_ms; }
    if [ -n "$FAIL_ON" ] && grep -Eq "$FAIL_ON" "$dir/console.log"; then
      reason="forbidden line: $(grep -E "$FAIL_ON" "$dir/console.log" | head -1)"; break
    fi
    if [ -n "$EXPECT" ] && grep -Eq "$EXPECT" "$dir/console.log"; then
      clock; t_expect=$clk_ms; status=pass; break
    fi
    if [ "$KIND" = cmd ] && ! kill -0 "$cmdpid" 2>/dev/null; then
      wait "$cmdpid"; rc=$?
      if [ -z "$EXPECT" ] && [ "$rc" = 0 ]; then status=pass; else reason="command exited with $rc"; fi
      break
    fi
    if [ "$KIND" != cmd ] && ! xl domid "$NAME" >/dev/null 2>&1; then
      if [ -n "$domid" ] || [ "$clk_ms" -gt 5000 ]; then
        reason="domain ended before the expected line"; break
      fi
    fi
    sleep 0.2
  done
  [ "$status" != pass ] && [ -z "$reason" ] && reason="timeout: no match for '$EXPECT' within ${TIMEOUT}s (job clock ${clk_ms} ms)"
  if [ "$status" = pass ] && [ -n "$SEND" ]; then
    sleep 1
    tty=$(xenstore-read "/local/domain/$domid/console/tty" 2>/dev/null)
    printf "$SEND" >"$tty"
    clock; t_sent=$clk_ms
    status=fail reason="domain still running ${WAIT_GONE}s after sending input"
    while clock && [ $(( clk_ms - t_sent )) -lt $(( WAIT_GONE * 1000 )) ]; do
      if ! xl domid "$NAME" >/dev/null 2>&1; then
        status=pass reason="domain ended $(( clk_ms - t_sent )) ms after the input"; break
      fi
      sleep 0.2
    done
  fi
  [ -n "$domid" ] && console_of "$NAME" "$domid" >"$dir/console.log"
  [ -s "$dir/create-failure.log" ] && cp "$dir/create-failure.log" "$dir/console.log"
  # Always destroy what the job created, pass or fail.
  # A command job may name its domains NAME-*: those go too, after the command's processes.
  if [ "$KIND" = cmd ]; then
    kill -TERM -- "-$cmdpid" 2>/dev/null && sleep 1 && kill -KILL -- "-$cmdpid" 2>/dev/null
    wait "$cmdpid" 2>/dev/null
  fi
  xl destroy "$NAME" >/dev/null 2>&1
  for d in $(xl list 2>/dev/null | awk -v n="$NAME" 'NR > 1 && index($1, n "-") == 1 { print $1 }'); do
    echo "@@LOG $NAME| clean-up: destroying domain $d the command left"
    xl destroy "$d" >/dev/null 2>&1
  done
  if [ "$EXPECT_FAIL" = 1 ]; then
    if [ "$status" = pass ]; then status=fail; reason="negative control reached '$EXPECT'"
    elif [ -n "$EXPECT_FAIL_SEEN" ] && ! grep -Eq "$EXPECT_FAIL_SEEN" "$dir/console.log"; then
      status=fail; reason="negative control failed, but not as meant ('$EXPECT_FAIL_SEEN' not seen): $reason"
    else status=pass; reason="expected failure seen: $reason"; fi
  fi
  gone=yes
  xl domid "$NAME" >/dev/null 2>&1 && gone=no
  triple=no
  [ -n "$domid" ] && xl dmesg 2>/dev/null | grep -q "d${domid}v[0-9]* Triple fault" && triple=yes
  clock; job_ms=$(( job_ms + clk_ms ))  # the whole attempt, clean-up included
}

run_job() {
  dir=$1
  RETRY_TRIPLE_FAULT=
  attempts=1 first= job_ms=0
  run_attempt "$dir"
  [ -z "$RETRY_TRIPLE_FAULT" ] && { [ "$EXPECT_FAIL" = 1 ] && RETRY_TRIPLE_FAULT=0 || RETRY_TRIPLE_FAULT=1; }
  if [ "$status" != pass ] && [ "$triple" = yes ] && [ "$RETRY_TRIPLE_FAULT" = 1 ]; then
    first="triple fault in d$domid: $reason"
    echo "@@RETRY $NAME $first"
    tail -n 5 "$dir/console.log" | awk -v n="$NAME" '{ print "@@LOG " n "| attempt 1: " $0 }'
    attempts=2
    run_attempt "$dir"
  fi
  echo "@@RESULT name=$NAME status=$status expect_fail=$EXPECT_FAIL attempts=$attempts create_ms=$t_created first_output_ms=${t_first:--1} expect_ms=${t_expect:--1} destroyed=$gone job_ms=$job_ms clock_jumps_ms=${jumps:-none} reason=$reason${first:+ (attempt 1: $first)}"
  # awk, not sed: it ends every line, also a console's last one ("Shell> "), so that the next
  # marker starts a line of its own.
  if [ "$status" != pass ] || [ "$EXPECT_FAIL" = 1 ] || [ -n "$SEND" ] || [ "$SHOW_CONSOLE" = 1 ]; then tail -n 40 "$dir/console.log"; else grep -E "$EXPECT" "$dir/console.log" | head -3; fi |
    awk -v n="$NAME" '{ print "@@LOG " n "| " $0 }'
  [ -s "$dir/cmd.log" ] && tail -n 20 "$dir/cmd.log" | awk -v n="$NAME" '{ print "@@LOG " n "| cmd: " $0 }'
  return 0
}

for d in $(ls -d "$JOBS"/*/ 2>/dev/null | sort); do
  run_job "${d%/}"
done

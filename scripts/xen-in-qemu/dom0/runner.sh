#!/bin/sh
# runner.sh JOBS_DIR: runs every job (a directory with a `job` file) in name order, in dom0.
# The jobs are written by scripts/xen-in-qemu/jobs.py from tests/xen/jobs.toml; a `job` file
# holds KEY=VALUE lines, read field by field (never sourced or evaluated):
#
#   NAME KIND        job and domain name; xl (guest.cfg), pvhboot (fw.elf, args), cmd (SCRIPT)
#   XL               xl or xl-patched (the toolstack built with xen-patches/xen-4.17)
#   CONSOLE_FILE     a file the guest's console also goes to (an HVM guest's serial)
#   EXPECT FAIL_ON   extended regexes (grep -E) for the console; see tests/xen/jobs.toml
#   TIMEOUT          the job's budget: seconds on an idle host, counted at the load factor
#   NEGATIVE         a negative control: the regex its failure must show
#   SEND WAIT_GONE   console input once EXPECT appeared; seconds for the domain to end by itself
#   RETRY_TRIPLE_FAULT  1: run again (twice at most) when the rig faulted (clean_up says how)
#   MEMORY SCRIPT    pvhboot's --memory; a cmd job's check script
#
# The load factor: how much slower than on an idle host dom0 runs, from the time of a fixed busybox
# loop (the calibration file says how long it takes idle). It is timed before each job (factor_start
# in the result), and again every 5 s while the runner waits: a budget counts the time that passes
# divided by the factor of the moment (checks/lib.sh, budget_left), so it holds when the host gets
# busy in the middle of a job. The result gives the factor the budget was stretched by (factor) and
# the highest seen (factor_max).
# Prints "@@RESULT key=value ..." per job, "@@LOG NAME| ..." excerpts and "@@CONSOLE NAME| ..."
# (the whole console of the job), "@@JSON NAME| ..." (pvhboot's JSON result).
JOBS=$1
# The clocks (uptime_ms, now_ms, clock_start, clock: the job's clock, clk_ms), the calibration,
# the load probe and budgets are the check scripts' (checks/lib.sh, copied in with them).
CALIBRATION=$JOBS/calibration
export CALIBRATION
. "${0%/*}/checks/lib.sh"

# read_job DIR: the job's fields, known keys only, values taken verbatim.
read_job() {
  NAME= KIND=xl XL=xl CONSOLE_FILE= EXPECT= FAIL_ON= TIMEOUT=60 NEGATIVE= SEND= WAIT_GONE=0 RETRY_TRIPLE_FAULT=1 MEMORY=256 SCRIPT=
  while IFS= read -r line; do
    key=${line%%=*} val=${line#*=}
    case $key in
      NAME) NAME=$val ;; KIND) KIND=$val ;; XL) XL=$val ;; CONSOLE_FILE) CONSOLE_FILE=$val ;;
      EXPECT) EXPECT=$val ;; FAIL_ON) FAIL_ON=$val ;; TIMEOUT) TIMEOUT=$val ;; NEGATIVE) NEGATIVE=$val ;;
      SEND) SEND=$val ;; WAIT_GONE) WAIT_GONE=$val ;; RETRY_TRIPLE_FAULT) RETRY_TRIPLE_FAULT=$val ;;
      MEMORY) MEMORY=$val ;; SCRIPT) SCRIPT=$val ;;
    esac
  done <"$1/job"
}

# calibrate: FACTOR100 (the load factor x 100) from the time of a fixed busybox loop.
calibrate() {
  uptime_ms; t0=$UPTIME_MS i=0
  while [ $i -lt "$SPIN_LOOPS" ]; do i=$((i + 1)); done
  uptime_ms; spin_ms=$(( UPTIME_MS - t0 ))
  FACTOR100=$(( spin_ms * 100 / SPIN_MS_IDLE ))
  [ "$FACTOR100" -lt 100 ] && FACTOR100=100
  FACTOR=$(x100 "$FACTOR100")
  # What a program the job starts (pvhboot, a check script) may take at most: the budget at the
  # highest factor a budget counts. The runner stops it sooner, once the load-scaled budget is used.
  MAX_S=$(( TIMEOUT * LOAD_MAX100 / 100 ))
}

# console_of [ring]: the guest's PV console (xenconsoled), its serial file, and its "(dN)" lines.
# Those come from the part of xenconsoled's log of Xen's console (HV_LOG, init starts it with
# --log=all) written since the attempt began (lib.sh's hv_mark, hv_lines), which costs a poll little; with "ring", from Xen's whole console ring (xl dmesg: a 4 MiB
# copy and grep, which at one poll every 0.2 s kept dom0's one vCPU ~70% busy). The ring is the
# authority: the log can lag behind it by as long as xenconsoled waits for dom0's vCPU, so a
# verdict that a line is missing is only given after reading the ring.
console_of() {
  cat "/var/log/xen/console/guest-$NAME.log" 2>/dev/null
  [ -n "$CONSOLE_FILE" ] && cat "$CONSOLE_FILE" 2>/dev/null
  if [ -n "$domid" ]; then
    if [ "$1" = ring ]; then xl dmesg 2>/dev/null | grep "(d$domid)"; else hv_lines "$domid"; fi
  fi
  [ "$KIND" != xl ] && cat "$dir/console.pvhboot" 2>/dev/null
}

# start_job: creates the domain (xl), or starts pvhboot or the check script in the background.
start_job() {
  case $KIND in
    xl)
      # Created paused, its domid noted, then unpaused: a guest that ends within milliseconds (the
      # fixture guest powers off by halting) still has its "(dN)" lines found in Xen's console.
      if $XL create -p guest.cfg >"$dir/create.log" 2>&1; then
        domid=$(xl domid "$NAME" 2>/dev/null)
        xl unpause "$NAME" >>"$dir/create.log" 2>&1
      else
        reason="xl create failed: $(grep -m1 -E 'panic|error' "$dir/create.log" || tail -1 "$dir/create.log")"
        cp "$dir/create.log" "$dir/create-failure.log"
        [ -s "/var/log/xen/qemu-dm-$NAME.log" ] && sed 's/^/qemu-dm: /' "/var/log/xen/qemu-dm-$NAME.log" | tail -n 15 >>"$dir/create-failure.log"
      fi ;;
    pvhboot)
      set -- run fw.elf --memory "$MEMORY" --name "$NAME" --console-log "$dir/console.pvhboot" --json \
        --timeout "$MAX_S" --expect "$EXPECT"
      [ -n "$FAIL_ON" ] && set -- "$@" --fail-on "$FAIL_ON"
      while IFS= read -r arg; do set -- "$@" "$arg"; done <args
      setsid pvhboot "$@" >"$dir/result.json" 2>"$dir/cmd.log" &
      cmdpid=$! ;;
    cmd)
      # A session (and process group) of its own, so that the clean-up reaches its children too.
      NAME=$NAME IDLE_TIMEOUT=$TIMEOUT TIMEOUT=$MAX_S FACTOR100=$FACTOR100 setsid sh "$SCRIPT" >"$dir/cmd.log" 2>&1 &
      cmdpid=$! ;;
  esac
}

# record_marks: the first time each of the job's milestones (marks: NAME=REGEX lines) appears.
record_marks() {
  [ -f "$dir/marks" ] || return 0
  while IFS= read -r m; do
    mname=${m%%=*} mrx=${m#*=}
    case ",$seen_marks," in *",$mname:"*) continue ;; esac
    grep -Eq "$mrx" "$dir/console.log" && { clock; seen_marks="${seen_marks:+$seen_marks,}$mname:$clk_ms"; }
  done <"$dir/marks"
}

# alive: the job's domain exists. Its xenstore directory answers that without starting xl (which
# costs a poll more than everything else in it); xl is asked only once that domain is gone, and
# finds a restarted guest's new domain by name (live_domid, watched from then on).
alive() {
  [ -n "$live_domid" ] || live_domid=$domid
  [ -n "$live_domid" ] && xenstore-exists "/local/domain/$live_domid" 2>/dev/null && return 0
  live_domid=$(xl domid "$NAME" 2>/dev/null)
}

# watch_job: until EXPECT, a FAIL_ON line, the end of the command or domain, or the budget
# (started with the job: budget_start in run_attempt).
watch_job() {
  gone_polls=0 src=log
  while [ -z "$reason" ] && [ "$status" != pass ] && budget_left; do
    if [ "$KIND" = xl ]; then
      poll_t0=$clk_ms
      [ -z "$domid" ] && domid=$(xl domid "$NAME" 2>/dev/null)
      console_of $src >"$dir/console.log"
      [ -z "$t_first" ] && [ -s "$dir/console.log" ] && { clock; t_first=$clk_ms; }
      if [ -n "$FAIL_ON" ] && grep -Eq "$FAIL_ON" "$dir/console.log"; then
        reason="forbidden line: $(grep -E "$FAIL_ON" "$dir/console.log" | head -1)"; break
      fi
      record_marks
      if grep -Eq "$EXPECT" "$dir/console.log"; then clock; t_expect=$clk_ms; status=pass; break; fi
      # A negative control that shows its failure has failed the way it is meant to: no need to
      # wait for its budget to run out.
      if [ -n "$NEGATIVE" ] && grep -Eq "$NEGATIVE" "$dir/console.log"; then
        reason="$(grep -Em1 "$NEGATIVE" "$dir/console.log")"; break
      fi
      # Gone for 10 polls, at least 2 s (a guest that reboots with on_reboot="restart" is back
      # within that, under another domid: then xl finds it by name).
      if ! alive && { [ -n "$domid" ] || [ "$clk_ms" -gt 5000 ]; }; then
        gone_polls=$((gone_polls + 1))
        # Before the verdict, one more look, at the ring itself (see console_of).
        [ "$gone_polls" -ge 10 ] && [ "$src" != ring ] && { src=ring gone_polls=9; }
        [ "$gone_polls" -ge 10 ] && { reason="domain ended before the expected line"; break; }
      else
        gone_polls=0
      fi
      clock; polls=$((polls + 1)) poll_ms=$((poll_ms + clk_ms - poll_t0))
      # The pause after a poll is twice what it cost (at least 0.2 s), so that polling takes at
      # most a third of dom0's vCPU however slow the host makes it.
      pause=$(( 2 * (clk_ms - poll_t0) )); [ "$pause" -lt 200 ] && pause=200
      pause_ms3=$(( pause % 1000 + 1000 ))
      sleep "$(( pause / 1000 )).${pause_ms3#1}"
      continue
    elif ! kill -0 "$cmdpid" 2>/dev/null; then
      wait "$cmdpid"; rc=$?
      if [ "$rc" = 0 ]; then status=pass; else reason="command exited with $rc: $(tail -1 "$dir/cmd.log")"; fi
      break
    fi
    sleep 0.2
  done
  # Out of time: the ring may hold the line the log has not caught up with yet.
  if [ "$KIND" = xl ] && [ "$status" != pass ] && [ -z "$reason" ] && [ "$src" != ring ]; then
    console_of ring >"$dir/console.log"
    grep -Eq "$EXPECT" "$dir/console.log" && { clock; t_expect=$clk_ms; status=pass; }
  fi
  job_factor=$(budget_factor)
  if [ "$status" != pass ] && [ -z "$reason" ]; then
    if [ "$KIND" = cmd ]; then
      reason="timeout: the check did not end within ${TIMEOUT}s at load factor x$job_factor (job clock ${clk_ms} ms)"
    else
      reason="timeout: no match for '$EXPECT' within ${TIMEOUT}s at load factor x$job_factor (job clock ${clk_ms} ms)"
    fi
  fi
}

# send_input: SEND typed on the console, then the domain must end by itself within WAIT_GONE.
send_input() {
  [ "$status" = pass ] || return 0
  if [ -n "$SEND" ]; then
    sleep 1
    tty=$(xenstore-read "/local/domain/$domid/console/tty" 2>/dev/null)
    printf "$SEND" >"$tty"
  fi
  [ "$WAIT_GONE" -gt 0 ] || return 0
  clock; t_sent=$clk_ms
  budget_start "$WAIT_GONE"
  status=fail
  while budget_left; do
    if ! alive; then
      status=pass reason="domain ended $(( clk_ms - t_sent )) ms after the expected line"; break
    fi
    sleep 0.2
  done
  [ "$status" = pass ] || reason="domain still running ${WAIT_GONE}s at load factor x$(budget_factor) after the expected line${SEND:+ and the input}"
}

# destroy_domains MESSAGE [all]: destroys the job's NAME-* domains (with all, NAME too), logging
# MESSAGE (a printf format taking the domain's name) for each.
destroy_domains() {
  local d
  for d in $(xl list 2>/dev/null | awk -v n="$NAME" -v all="${2:-}" \
      'NR > 1 && ((all != "" && $1 == n) || index($1, n "-") == 1) { print $1 }'); do
    printf "@@LOG %s| $1\n" "$NAME" "$d"
    xl destroy "$d" >/dev/null 2>&1
  done
}

# clean_up: whatever the job created goes, pass or fail: the command's processes, the domain,
# and any NAME-* domain a command left.
clean_up() {
  if [ "$KIND" = xl ]; then
    console_of ring >"$dir/console.log"
  else
    kill -TERM -- "-$cmdpid" 2>/dev/null && sleep 1 && kill -KILL -- "-$cmdpid" 2>/dev/null
    wait "$cmdpid" 2>/dev/null
    [ -s "$dir/console.pvhboot" ] && cp "$dir/console.pvhboot" "$dir/console.log"
  fi
  [ -s "$dir/create-failure.log" ] && cp "$dir/create-failure.log" "$dir/console.log"
  xl destroy "$NAME" >/dev/null 2>&1
  destroy_domains "clean-up: destroying domain %s the command left"
  gone=yes
  xl domid "$NAME" >/dev/null 2>&1 && gone=no
  # A fault of the nested rig rather than of the job (scripts/xen-in-qemu/README.md): a triple fault Xen
  # logged for the domain, a guest kernel crash seen only under this QEMU's emulation, a dom0
  # process killed during the attempt.
  rig_fault=
  [ -n "$domid" ] && xl dmesg 2>/dev/null | grep -q "d${domid}v[0-9]* Triple fault" && rig_fault="triple fault in d$domid"
  # A guest's busybox killed the way dom0's are (a wrong FS base: segfault right after reading
  # the thread pointer) is the same rig fault, seen from inside the guest.
  [ -z "$rig_fault" ] && rig_fault=$(grep -Eh "BUG: ENTRY_TRAMPOLINE stack guard page was hit|Bad FPU state detected|segfault at [0-9a-f]+ ip [0-9a-f]+ sp [0-9a-f]+ error [0-9]+ in busybox" "$dir/console.log" /var/log/xen/console/guest-"$NAME".log /var/log/xen/console/guest-"$NAME"-*.log 2>/dev/null |
    head -1 | sed 's/^/guest crash known from the rig: /')
  [ -z "$rig_fault" ] && [ "$(dmesg | grep -c 'segfault at')" -gt "$segv_before" ] &&
    rig_fault="dom0 process crashed: $(dmesg | grep 'segfault at' | tail -1)"
  # A Linux guest that ran out of time with its kernel's timer check as its last line: it hung
  # there for good (README.md, "Known faults"), a fault of the rig's timers, not of the job.
  if [ -z "$rig_fault" ] && [ "$status" != pass ]; then
    case $reason in
      timeout:*)
        last_kernel=$(grep -E '^\[ *[0-9]+\.[0-9]+\] ' "$dir/console.log" 2>/dev/null | tail -1)
        case $last_kernel in *"..TIMER: vector="*) rig_fault="guest kernel stuck in its timer check: $last_kernel" ;; esac ;;
    esac
  fi
}

# judge: a negative control passes only when it failed, and failed the way it is meant to.
judge() {
  [ "$KIND" != xl ] && [ "$status" = pass ] && [ "$gone" = no ] && { status=fail; reason="domain $NAME left behind"; }
  [ -n "$NEGATIVE" ] || return 0
  if [ "$status" = pass ]; then
    status=fail reason="negative control passed (it must fail with '$NEGATIVE')"
  elif { cat "$dir/console.log" "$dir/cmd.log" 2>/dev/null; echo "$reason"; } | grep -Eq "$NEGATIVE"; then
    status=pass reason="expected failure seen: $reason"
  else
    status=fail reason="negative control failed, but not as meant ('$NEGATIVE' not seen): $reason"
  fi
}

run_attempt() {
  cd "$dir" || return
  # What an attempt cut short by a runner crash left (the runner started again).
  destroy_domains "before the attempt: destroying domain %s an earlier runner left" all
  echo "@@JOB-START $NAME $(now_ms)"
  status=fail reason= t_first= t_expect= domid= live_domid= cmdpid= seen_marks= job_factor= load_max100=100
  segv_before=$(dmesg | grep -c 'segfault at')
  hv_mark
  # xenconsoled appends to a guest's log by name, and both the runner and the check scripts read
  # it whole: a retry starts without the earlier attempt's lines (its crash or a FAIL_ON line
  # would otherwise be found again).
  rm -f /var/log/xen/console/guest-"$NAME".log /var/log/xen/console/guest-"$NAME"-*.log
  calibrate
  clock_start
  budget_start "$TIMEOUT"
  start_job
  clock; t_created=$clk_ms
  # The runner's polling (console files, xl domid, greps, every 0.2 s) must not compete with what it
  # watches: dom0 has one vCPU, shared with an HVM guest's device model (and the nested rig runs
  # every vCPU in one host thread). So it polls at the lowest priority; what start_job started
  # (the device model, a check script) keeps its own.
  renice 19 -p $$ >/dev/null 2>&1
  polls=0 poll_ms=0
  watch_job
  send_input
  renice 0 -p $$ >/dev/null 2>&1
  [ "$polls" -gt 0 ] && echo "@@LOG $NAME| runner: $polls console polls, $(( poll_ms / polls )) ms each on average (at nice 19)"
  clean_up
  judge
  clock; job_ms=$(( job_ms + clk_ms ))  # the whole attempt, clean-up included
}

run_job() {
  dir=$1
  read_job "$dir"
  attempts=1 first= job_ms=0 retries=0
  # A job started but not reported was cut short by a runner crash (dom0/init started the runner
  # again): its result says so, as it says an earlier attempt's rig fault. That attempt counts in
  # attempts, not in the retries below: a job the runner's crash cut short still gets both.
  [ -f "$dir/started" ] && first="the runner crashed during an earlier attempt" attempts=2
  : >"$dir/started"
  run_attempt
  # At most two more attempts, each only after a rig fault (a busy run has seen two in a row).
  while [ "$status" != pass ] && [ -n "$rig_fault" ] && [ "$RETRY_TRIPLE_FAULT" = 1 ] && [ "$retries" -lt 2 ]; do
    first="${first:+$first; }$rig_fault: $reason"
    echo "@@RETRY $NAME attempt $attempts: $rig_fault: $reason"
    tail -n 5 "$dir/console.log" | awk -v n="$NAME" -v a="$attempts" '{ print "@@LOG " n "| attempt " a ": " $0 }'
    attempts=$((attempts + 1)) retries=$((retries + 1))
    run_attempt
  done
  neg=0; [ -n "$NEGATIVE" ] && neg=1
  echo "@@RESULT name=$NAME status=$status expect_fail=$neg attempts=$attempts create_ms=$t_created first_output_ms=${t_first:--1} expect_ms=${t_expect:--1} destroyed=$gone job_ms=$job_ms factor=${job_factor:-$FACTOR} factor_start=$FACTOR factor_max=$(x100 "$load_max100") spin_ms=$spin_ms marks=${seen_marks:-none} clock_jumps_ms=${jumps:-none} reason=$reason${first:+ (earlier attempts: $first)}"
  # awk, not sed: it ends every line, also a console's last one ("Shell> "), so that the next
  # marker starts a line of its own.
  awk -v n="$NAME" '{ print "@@CONSOLE " n "| " $0 }' "$dir/console.log" 2>/dev/null
  [ -s "$dir/cmd.log" ] && awk -v n="$NAME" '{ print "@@LOG " n "| cmd: " $0 }' "$dir/cmd.log"
  [ -s "$dir/result.json" ] && tr -d '\n' <"$dir/result.json" | awk -v n="$NAME" '{ print "@@JSON " n "| " $0 }'
  : >"$dir/reported"
  return 0
}

# A job with a `reported` file is done: a runner started again after a crash (dom0/init) skips it.
for d in $(ls -d "$JOBS"/*/ 2>/dev/null | sort); do
  [ -f "$d/job" ] && [ ! -f "$d/reported" ] && run_job "${d%/}"  # jobs/shared holds files jobs share
done
# Every job ran: the only way out with status 0 (dom0/init starts a runner that ended otherwise,
# by a signal or a shell error, again).
exit 0

# Helpers for the check scripts (sourced), and the dom0 runner's clocks and budgets. The scripts
# run in dom0, in the job's directory, with in the environment: NAME; IDLE_TIMEOUT, the job's
# budget in seconds on an idle host; TIMEOUT, the most it may take (IDLE_TIMEOUT times the highest
# load factor a budget counts: the runner ends the script sooner once the job's load-scaled budget
# is used up); FACTOR100, the load factor x100 measured before the job.
cr=$(printf '\r')  # the UEFI shell ends its lines with CR LF
say() { echo "$NAME: $*"; }
# fail: the reason, and any crash dom0's kernel logged (a process killed by a signal, an oops).
fail() {
  say "FAILED: $*"
  dmesg | grep -iE "segfault|general protection|BUG:|Oops|traps:" | tail -8 | sed "s/^/$NAME: dmesg: /"
  exit 1
}

# ---- clocks, the load factor, budgets ----------------------------------------------------------
# uptime_ms: UPTIME_MS, the milliseconds of /proc/uptime (two decimals), read by the shell itself:
# in this dom0 every process a poll starts costs it tens of ms. now_ms prints it.
uptime_ms() {
  read -r up _ </proc/uptime
  UPTIME_MS=$(( ${up%.*} * 1000 + 1${up#*.} * 10 - 1000 ))
}
now_ms() { uptime_ms; echo "$UPTIME_MS"; }
# A clock of its own, clk_ms since clock_start: the sum of the steps of /proc/uptime between
# calls, where a step backwards or of more than 30 s (no poll takes that long) counts as 200 ms
# and is noted in `jumps` (dom0's emulated TSC follows the host's, and jumps with it).
clock_start() { uptime_ms; clk_last=$UPTIME_MS clk_ms=0 jumps=; }
clock() {
  uptime_ms; clk_now=$UPTIME_MS
  case $clk_now in ''|*[!0-9]*) clk_now=$clk_last ;; esac
  clk_step=$(( clk_now - clk_last ))
  if [ "$clk_step" -lt 0 ] || [ "$clk_step" -gt 30000 ]; then
    jumps="${jumps:+$jumps,}$clk_step"; clk_step=200
  fi
  clk_ms=$(( clk_ms + clk_step )) clk_last=$clk_now
}

# The calibration (jobs/calibration): a busybox loop of SPIN_LOOPS iterations takes SPIN_MS_IDLE
# on an idle host. The runner times it whole before each job (the factor it reports as start).
SPIN_LOOPS=20000 SPIN_MS_IDLE=600
[ -f "${CALIBRATION:=/jobs/calibration}" ] && while IFS='=' read -r key val; do
  case $key in SPIN_LOOPS) SPIN_LOOPS=$val ;; SPIN_MS_IDLE) SPIN_MS_IDLE=$val ;; esac
done <"$CALIBRATION"
# load_probe: load_f100, how much slower than on an idle host dom0 runs now (x100), from a tenth of
# that loop (60 ms idle), between 100 and LOAD_MAX100; load_max100 keeps the highest seen.
# It measures what slows a job down: the host's other work, the other rig, and dom0's own (an HVM
# guest's device model, xen-pflash), which a waiting runner or script (at nice 19) yields to.
LOAD_MAX100=800
load_probe() {
  local i=0 t0
  uptime_ms; t0=$UPTIME_MS
  while [ $i -lt $(( SPIN_LOOPS / 10 )) ]; do i=$((i + 1)); done
  uptime_ms
  load_f100=$(( (UPTIME_MS - t0) * 1000 / SPIN_MS_IDLE ))
  [ "$load_f100" -lt 100 ] && load_f100=100
  [ "$load_f100" -gt "$LOAD_MAX100" ] && load_f100=$LOAD_MAX100
  [ "$load_f100" -gt "${load_max100:-0}" ] && load_max100=$load_f100
  probe_at=$clk_ms
}
# Budgets are seconds on an idle host. budget_start SECONDS starts one on the clock (clock_start
# first); budget_left counts the time since its last call divided by the load factor, probed again
# once 5 s have passed (a step across a probe counts at the higher of the two), and is true while
# some of the budget is left. So a budget holds whether the host is busy when it starts, becomes
# busy in the middle or is busy on and off, where one factor measured at the start (the way of
# budgets before) did not: the other rig's work comes and goes within a job. The probes cost dom0
# about 1% of its time. budget_used and budget_wall say what was used, in idle and real ms.
budget_start() {
  clock; load_probe
  budget_ms=$(( $1 * 1000 )) budget_used=0 budget_wall=0 budget_seen=$clk_ms
}
budget_left() {
  local f
  clock; f=$load_f100
  if [ $(( clk_ms - probe_at )) -ge 5000 ]; then
    load_probe
    [ "$load_f100" -gt "$f" ] && f=$load_f100
  fi
  budget_used=$(( budget_used + (clk_ms - budget_seen) * 100 / f ))
  budget_wall=$(( budget_wall + clk_ms - budget_seen )) budget_seen=$clk_ms
  [ "$budget_used" -lt "$budget_ms" ]
}
# x100 N: N / 100 with two decimals. budget_factor: the factor the budget was stretched by so far,
# or, before any of it was counted (a job that ended at once), the factor of the last probe.
x100() { echo "$(( $1 / 100 )).$(( $1 % 100 / 10 ))$(( $1 % 10 ))"; }
budget_factor() {
  local f=${load_f100:-100}
  [ "$budget_used" -gt 0 ] && f=$(( budget_wall * 100 / budget_used ))
  [ "$f" -lt 100 ] && f=100
  x100 "$f"
}
# scaled SECONDS: seconds on an idle host, times the load factor now (or before the job, if that
# was higher): for a wall-clock timeout given to a program (pvhboot --timeout, sleep).
scaled() {
  clock_start; load_probe
  [ "${FACTOR100:-100}" -gt "$load_f100" ] && load_f100=$FACTOR100
  echo $(( $1 * load_f100 / 100 ))
}

# guest DOMNAME DISK [XL.CFG LINE...]: creates a PVH guest of the job's firmware (fw.elf) with the
# patched xl, booting DISK (read-only; - for none), plus the lines given (nvram = "...", say). A
# memory line replaces the default; a firmware line (firmware = "ovmf", firmware_override = ...)
# replaces kernel = fw.elf.
guest() {
  local n=$1 disk=$2 mem='memory = 256' kernel="kernel = \"$PWD/fw.elf\"" l
  shift 2
  for l in "$@"; do case $l in memory*) mem=$l ;; firmware*) kernel= ;; esac; done
  { printf '%s\n' "name = \"$n\"" 'type = "pvh"' ${kernel:+"$kernel"} "$mem" 'vcpus = 1' \
      'on_reboot = "destroy"' 'on_crash = "destroy"'
    [ "$disk" = - ] || printf '%s\n' "disk = ['format=raw,vdev=xvda,access=ro,target=$disk']"
    for l in "$@"; do case $l in memory*) ;; *) printf '%s\n' "$l" ;; esac; done; } >"$n.cfg"
  xl-patched -v create "$n.cfg" >"$n.create.log" 2>&1 && return 0
  # What a failed create leaves to read: xl's log, xen-pflash's log, a crash in dmesg.
  local rc=$?
  grep -v "^libxl: debug" "$n.create.log" | tail -15 | sed "s/^/$n: xl: /"
  local log
  log=$(sed -n 's/.*(see \(.*\.log\)).*/\1/p' "$n.create.log" | head -1)
  [ -n "$log" ] && [ -f "$log" ] && sed "s/^/$n: xen-pflash: /" "$log"
  dmesg | grep -i "segfault" | tail -2 | sed "s/^/$n: dmesg: /"
  return $rc
}

console_log() { echo "/var/log/xen/console/guest-$1.log"; }

# Xen's console as xenconsoled logs it (dom0's init starts it with --log=all), appended as Xen
# writes it. hv_mark notes where the log ends now; hv_lines DOMID prints the domain's "(dN)" lines
# written since: cheap to poll, unlike a copy of Xen's whole 4 MiB ring (xl dmesg), which is what
# it reads when there is no log. The ring stays the authority for a verdict (the log can lag).
HV_LOG=/var/log/xen/console/hypervisor.log
hv_mark() { hv_block=$(( $(stat -c %s "$HV_LOG" 2>/dev/null || echo 0) / 4096 )); }
hv_lines() {
  if [ -f "$HV_LOG" ]; then dd if="$HV_LOG" bs=4096 skip="${hv_block:-0}" 2>/dev/null; else xl dmesg; fi | grep "(d$1)"
}

# wait_console DOMNAME REGEX SECONDS: until the guest's console shows REGEX; prints the dom0 time
# (ms) it was seen, fails once a budget of SECONDS (on an idle host) is used up.
wait_console() {
  clock_start; budget_start "$3"
  while budget_left; do
    grep -Eq "$2" "$(console_log "$1")" 2>/dev/null && { now_ms; return 0; }
    sleep 0.2
  done
  return 1
}

# wait_gone DOMNAME SECONDS: until the domain is gone (SECONDS: a budget, as above).
wait_gone() {
  clock_start; budget_start "$2"
  while xl domid "$1" >/dev/null 2>&1; do
    budget_left || return 1
    sleep 0.2
  done
}

pflash_pid() { xenstore-read "/local/domain/$(xl domid "$1")/image/pflash-pid" 2>/dev/null; }

# ---- the UEFI shell on an xl guest's PV console ------------------------------------------------
# type_console DOMNAME TEXT: TEXT (backslash escapes as printf %b: \r is Enter; % is plain) typed on the guest's console, through
# the pty xenconsoled gives it (xenstore console/tty; a restored domain has another).
type_console() {
  local tty
  tty=$(xenstore-read "/local/domain/$(xl domid "$1")/console/tty") || return 1
  printf '%b' "$2" >"$tty"
}
# plain LOG: the console without escape sequences, carriage returns and pvhboot's time stamps
# ("[   1.234] console| ").
plain() { sed -E 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/^\[ *[0-9.]+\] [^|]*\| //' "$1" | tr -d '\r'; }
# dmem_count LOG ADDR: how many `dmem` lines for ADDR (8 hex digits, upper case) LOG has.
dmem_count() { plain "$1" | grep -cE "^ *$2: "; }
# dmem_bytes LOG ADDR: the 16 bytes of the last `dmem` line for ADDR, space-separated.
dmem_bytes() { plain "$1" | grep -E "^ *$2: " | tail -1 | sed -E "s/^ *$2: //" | cut -c1-48 | tr '-' ' ' | xargs; }
# shell_dmem DOMNAME LOG ADDR SECONDS: types `dmem ADDR 10` and prints the 16 bytes it shows.
shell_dmem() {
  local n before end
  n=$(printf '%08X' "$3")
  before=$(dmem_count "$2" "$n")
  type_console "$1" "dmem $3 10\r" || return 1
  clock_start; budget_start "$4"
  while [ "$(dmem_count "$2" "$n")" -le "$before" ]; do
    budget_left || return 1
    sleep 0.2
  done
  dmem_bytes "$2" "$n"
}
# le32 B0 B1 B2 B3: the little-endian value of four hex bytes.
le32() { printf '%d' "0x$4$3$2$1"; }
# vgia_of BYTES(16 of the information page's second line, 0xfc000010): VGIA, the generation ID's
# address (offset 20 of libacpi's acpi_info: byte 4 of that line).
vgia_of() { shift 4; le32 "$1" "$2" "$3" "$4"; }
# ssdt_has_vmgenid LOG: an `acpiview -s SSDT` dump in LOG holds the device's _CID string.
ssdt_has_vmgenid() {
  plain "$1" | sed -nE 's/^[0-9A-F]{8} : (([0-9A-F]{2} |- )+).*/\1/p' | tr -d ' \n-' | grep -q 564D5F47656E5F436F756E746572
}
# memmap_range LOG ADDR: "TYPE START-END" of the range `memmap` gives ADDR (its last listing in
# LOG); memmap_type LOG ADDR: the TYPE alone.
memmap_range() {
  local a=$(( $2 )) t r s e
  plain "$1" | grep -E "^[A-Za-z_]+ +[0-9A-F]{16}-[0-9A-F]{16} " | while read -r t r _; do
    s=$(( 0x${r%-*} )) e=$(( 0x${r#*-} ))
    [ "$a" -ge "$s" ] && [ "$a" -le "$e" ] && echo "$t $r"
  done | tail -1
}
memmap_type() { memmap_range "$1" "$2" | cut -d' ' -f1; }
# fail_console LOG REASON: fail, showing the end of the guest's console first.
fail_console() {
  plain "$1" | tail -40 | sed "s/^/$NAME: console: /"
  fail "$2"
}

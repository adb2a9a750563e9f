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
  xl_create "$n"
}

# hvm_guest DOMNAME DISK [XL.CFG LINE...]: the same ELF as an HVM guest's OVMF, through our
# hvmloader (patched xl), booting DISK as xvde (read-only; - for none; xvde has no emulated IDE
# twin), plus the lines given (a memory line replaces the default). The guest has no serial port
# (serial = "none"): OvmfXen's console on Xen is then the PV console alone, as for PVH
# (console_log, type_console). With a 16550 too, the console splitter writes to both, at the pace
# of the emulated UART, which is slow in this rig (scripts/xen-in-qemu/README.md).
hvm_guest() {
  local n=$1 disk=$2 mem='memory = 256' l
  shift 2
  for l in "$@"; do case $l in memory*) mem=$l ;; esac; done
  { printf '%s\n' "name = \"$n\"" 'type = "hvm"' 'bios = "ovmf"' "bios_path_override = \"$PWD/fw.elf\"" \
      'firmware_override = "/opt/xen-patched/boot/hvmloader"' "$mem" 'vcpus = 1' 'vnc = 0' 'sdl = 0' \
      'vga = "none"' 'serial = "none"' 'on_reboot = "destroy"' 'on_crash = "destroy"' \
      'timer_mode = "no_missed_ticks_pending"'  # see jobs.py's guest_cfg
    [ "$disk" = - ] || printf '%s\n' "disk = ['format=raw,vdev=xvde,access=ro,target=$disk']"
    for l in "$@"; do case $l in memory*) ;; *) printf '%s\n' "$l" ;; esac; done; } >"$n.cfg"
  xl_create "$n"
}

# xl_create DOMNAME: xl-patched create of DOMNAME.cfg; on failure, prints what there is to read:
# xl's log, xen-pflash's log, a crash in dmesg.
xl_create() {
  local n=$1 rc log
  xl-patched -v create "$n.cfg" >"$n.create.log" 2>&1 && return 0
  rc=$?
  grep -v "^libxl: debug" "$n.create.log" | tail -15 | sed "s/^/$n: xl: /"
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
# type_console DOMNAME TEXT: TEXT (backslash escapes as printf %b: \r is Enter; % is plain) typed
# on the guest's console, through the pty xenconsoled gives it (xenstore console/tty; a restored
# domain has another).
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
# shell_dmem DOMNAME LOG ADDR SECONDS: types `dmem ADDR 10` and prints the 16 bytes it shows,
# once the line holds all 16 (the console may show it in pieces).
shell_dmem() {
  local n before bytes=
  n=$(printf '%08X' "$3")
  before=$(dmem_count "$2" "$n")
  type_console "$1" "dmem $3 10\r" || return 1
  clock_start; budget_start "$4"
  while :; do
    [ "$(dmem_count "$2" "$n")" -gt "$before" ] && bytes=$(dmem_bytes "$2" "$n") && [ ${#bytes} -eq 47 ] && break
    budget_left || return 1
    sleep 0.2
  done
  echo "$bytes"
}
# le32 B0 B1 B2 B3: the little-endian value of four hex bytes.
le32() { printf '%d' "0x$4$3$2$1"; }
# vgia_of BYTES(16 of the information page's second line, 0xfc000010): VGIA, the generation ID's
# address (offset 20 of libacpi's acpi_info: byte 4 of that line).
vgia_of() { shift 4; le32 "$1" "$2" "$3" "$4"; }
# acpi_dump_has_vmgenid LOG: an `acpiview` dump (of the SSDT or the DSDT) in LOG holds the
# device's _CID string.
acpi_dump_has_vmgenid() {
  plain "$1" | sed -nE 's/^[0-9A-F]{8} : (([0-9A-F]{2} |- )+).*/\1/p' | tr -d ' \n-' | grep -q 564D5F47656E5F436F756E746572
}
# memmap_range LOG ADDR: "TYPE START-END" of the range `memmap` gives ADDR (its last listing in
# LOG).
memmap_range() {
  local a=$(( $2 )) t r s e
  plain "$1" | grep -E "^[A-Za-z_]+ +[0-9A-F]{16}-[0-9A-F]{16} " | while read -r t r _; do
    s=$(( 0x${r%-*} )) e=$(( 0x${r#*-} ))
    [ "$a" -ge "$s" ] && [ "$a" -le "$e" ] && echo "$t $r"
  done | tail -1
}
# fail_console LOG REASON: fail, showing the end of the guest's console first.
fail_console() {
  plain "$1" | tail -40 | sed "s/^/$NAME: console: /"
  fail "$2"
}

# vmgenid_shell DOMNAME TABLE TYPE: the generation ID of an xl guest (ms_vm_genid) seen from its
# UEFI shell: `acpiview -s TABLE` dumps the table with the device (libacpi puts it in an SSDT for
# PVH, hvmloader in its DSDT), the ACPI information page (0xfc000000) gives VGIA, `dmem` there
# shows 16 bytes of ID (not zeros) and `memmap` gives the page the type TYPE (Reserved from
# libxl's PVH map, ACPI_NVS from hvmloader's). Waits for the shell first; prints what it saw.
vmgenid_shell() {
  local n=$1 table=$2 want=$3 log info vgia id type
  log=$(console_log "$n")
  wait_console "$n" 'Shell> ' 90 >/dev/null || fail_console "$log" "no shell"
  sleep 1
  # The dump, then a line that says it ended (%V%, so that the typed command does not match).
  type_console "$n" "acpiview -s $table\\rset V $table\\recho ACPIVIEW-%V%-END\\r"
  wait_console "$n" "ACPIVIEW-$table-END" 120 >/dev/null || fail_console "$log" "acpiview -s $table did not end"
  info=$(shell_dmem "$n" "$log" 0xfc000010 30) || fail_console "$log" "dmem of the information page"
  vgia=$(vgia_of $info)
  say "VGIA $(printf '%#x' "$vgia")"
  [ "$vgia" -ne 0 ] || fail "VGIA is 0: no generation ID"
  acpi_dump_has_vmgenid "$log" || fail_console "$log" "acpiview -s $table shows no VM_Gen_Counter device"
  plain "$log" | grep -E "^ *(Signature|Length|Oem Table ID) +: " | sed "s/^/$n: acpiview: /"
  id=$(shell_dmem "$n" "$log" "$(printf '%#x' "$vgia")" 30) || fail_console "$log" "dmem at VGIA"
  say "dmem $(printf '%#x' "$vgia") 10: $id"
  [ "$id" != "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00" ] || fail "the ID is all zeros"
  type_console "$n" 'memmap\r'
  type_console "$n" 'set V END\recho VMGENID-%V%\r'
  wait_console "$n" 'VMGENID-END' 30 >/dev/null || fail_console "$log" "the shell stopped answering"
  type=$(memmap_range "$log" "$vgia")
  say "memmap: ${type:-no range holds VGIA}"
  type=${type%% *}
  [ "$type" = "$want" ] || fail_console "$log" "memmap gives the ID's page the type '$type', not $want"
}

# vmgenid_restore DOMNAME: xl save and xl restore DOMNAME.cfg of a running guest of the
# os-vmgenid disk (ms_vm_genid = "generate", so the restore generates a new ID that the toolstack
# writes at VGIA): the guest, which prints the ID's bytes and then again whenever they change,
# must print a new ID after the restore. Prints both.
vmgenid_restore() {
  local n=$1 log id1 id2
  log=$(console_log "$n")
  wait_console "$n" 'VMGENID id=[0-9a-f]{32}' 240 >/dev/null || fail_console "$log" "no ID from the guest"
  id1=$(plain "$log" | sed -n 's/.*VMGENID id=\([0-9a-f]*\).*/\1/p' | head -1)
  plain "$log" | grep -E "Booting paravirtualized kernel|vmgenid|VMGENID" | head -4 | sed "s/^/$n: guest: /"
  say "before save: $id1"
  sleep 2
  xl-patched save "$n" "$PWD/$n.save" >save.log 2>&1 || { cat save.log; fail "xl save"; }
  xl domid "$n" >/dev/null 2>&1 && fail "the domain still runs after xl save"
  say "saved ($(du -m "$n.save" | cut -f1) MiB)"
  xl-patched restore "$n.cfg" "$PWD/$n.save" >restore.log 2>&1 || { cat restore.log; fail "xl restore"; }
  rm -f "$n.save"
  wait_console "$n" 'VMGENID changed id=[0-9a-f]{32}' 120 >/dev/null ||
    fail_console "$log" "the restored guest did not report a new ID"
  id2=$(plain "$log" | sed -n 's/.*VMGENID changed id=\([0-9a-f]*\).*/\1/p' | tail -1)
  say "after restore: $id2"
  [ "$id2" != "$id1" ] || fail "the ID did not change"
}

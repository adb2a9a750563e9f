# Helpers for the check scripts (sourced). They run in dom0, in the job's directory, with NAME,
# TIMEOUT (seconds, already multiplied by the load factor) and FACTOR100 in the environment.
cr=$(printf '\r')  # the UEFI shell ends its lines with CR LF
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
say() { echo "$NAME: $*"; }
# fail: the reason, and any crash dom0's kernel logged (a process killed by a signal, an oops).
fail() {
  say "FAILED: $*"
  dmesg | grep -iE "segfault|general protection|BUG:|Oops|traps:" | tail -8 | sed "s/^/$NAME: dmesg: /"
  exit 1
}
# scaled SECONDS: seconds on an idle host, times this job's load factor.
scaled() { echo $(( $1 * FACTOR100 / 100 )); }

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
# (ms) it was seen, fails after SECONDS.
wait_console() {
  local end=$(( $(now_ms) + $3 * 1000 ))
  while [ "$(now_ms)" -lt "$end" ]; do
    grep -Eq "$2" "$(console_log "$1")" 2>/dev/null && { now_ms; return 0; }
    sleep 0.2
  done
  return 1
}

# wait_gone DOMNAME SECONDS: until the domain is gone.
wait_gone() {
  local end=$(( $(now_ms) + $2 * 1000 ))
  while xl domid "$1" >/dev/null 2>&1; do
    [ "$(now_ms)" -lt "$end" ] || return 1
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
  end=$(( $(now_ms) + $4 * 1000 ))
  while [ "$(dmem_count "$2" "$n")" -le "$before" ]; do
    [ "$(now_ms)" -lt "$end" ] || return 1
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

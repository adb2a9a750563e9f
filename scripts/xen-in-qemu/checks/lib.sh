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
# patched xl, booting DISK (read-only), plus the lines given (nvram = "...", say).
guest() {
  local n=$1 disk=$2
  shift 2
  { printf '%s\n' "name = \"$n\"" 'type = "pvh"' "kernel = \"$PWD/fw.elf\"" 'memory = 256' 'vcpus = 1' \
      'on_reboot = "destroy"' 'on_crash = "destroy"' "disk = ['format=raw,vdev=xvda,access=ro,target=$disk']"
    printf '%s\n' "$@"; } >"$n.cfg"
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

#!/usr/bin/env bash
# The real-Xen smoke matrix (ctest label xen-e2e): OvmfXen built from Debian's edk2 with our
# patches, wrapped by elfwrap, booted as PVH guests on Xen 4.17 nested in QEMU.
#
#   scripts/xen-e2e.sh [BUILD_DIR] [RESULTS_DIR]
#
#   1 ovmf-2m-elf64     2 MiB RELEASE, elfwrap ELF64            -> "UEFI Interactive Shell"
#   2 ovmf-4m-elf64     4 MiB RELEASE, elfwrap ELF64            -> shell
#   3 ovmf-2m-elf32     2 MiB RELEASE, elfwrap ELF32            -> shell
#   4 ovmf-2m-debug     2 MiB DEBUG (port 0xe9)                 -> shell, no ASSERT on port 0xe9
#   5 edk2-header-4m    4 MiB with edk2's own header (negative) -> must NOT reach the shell
#   6 stock-refused     Debian's OVMF.fd: elfwrap --target pvh refuses it before any boot (host)
#   6 hole-stock-libxc  OvmfXen wrapped at 0xffe00000 (--allow-mmio-hole): stock 4.17 libxc refuses
#                       to build it (negative control; the xl create error is in the report)
#   7 ovmf-reset        shell, then "reset -s" typed on its console -> the domain ends (Xen
#                       shutdown hypercall from our reset library)
# pvhboot (no xl), each checking that it destroyed its domain:
#   8 pvhboot-2m        2 MiB ELF64 -> shell          9 pvhboot-4m      4 MiB ELF64 -> shell
#  10 pvhboot-edk2-4m   edk2's header: times out, reported as a failure (negative control)
#  11 pvhboot-startinfo the fixture guest prints the cmdline and module count start_info gave it
#  12 pvhboot-sigint    SIGINT mid-boot: pvhboot exits 1 and the domain is gone
#  13 bench             xl create vs pvhboot, time to unpaused, median of 7 each
#  15 pvhboot-hole      OvmfXen wrapped at 0xffe00000 (the image job 6 shows stock libxc refusing):
#                       pvhboot populates that window itself -> shell on stock 4.17
#  16 pvhboot-hole-startinfo  the fixture guest at 0xfff00000: cmdline and module reach it
#                       through the entry stub
#  17 hole-patched-libxc the image of job 6 through xl-patched (libxc with our patch) -> shell
#  18 firmware-ovmf-pvh  type="pvh", firmware="ovmf" (no kernel=) through xl-patched -> shell
#  19 firmware-override-pvh  firmware="uefi" + firmware_override=PATH (4 MiB image) -> shell
#  25 firmware-path-pvh  firmware="PATH" (the 2 MiB ELF32) -> shell
#  20 firmware-ovmf-stock-xl firmware="ovmf" with stock xl: refused (negative control)
#  21-23 HVM through the patched hvmloader (see below)
#  26 hvm-same-elf-stock the PVH ELF as OVMF for stock hvmloader -> shell (used raw, as verify says)
#  27 hvm-elf-two-loads  an ELF with two PT_LOADs: the patched hvmloader stops with its message
#  28 hvm-firmware-elf   the PVH ELF in place of hvmloader (firmware_override): started at its PVH
#                       entry by libxc's ELF loader -> shell, no hvmloader
#  24 hole-startinfo-patched-xl the fixture guest at 0xfff00000 through xl-patched: cmdline and
#                       module arrive, and its memory map says its own pages are reserved (mem=2)
#  14 harness-cleanup   a command job that hangs past its TIMEOUT: killed, its domain destroyed
#                       (negative control; the leftover-domain count checks the clean-up)
# On the host: stock-refused (above) and verify-hvmloader (what verify predicts for jobs 23, 26).
# XEN_E2E_ONLY=REGEX runs only the jobs whose name matches.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib/common.sh"
build=${1:-$top/build}
results=${2:-$build/xen-e2e}
elfwrap=$build/tools/elfwrap/elfwrap
[ -x "$elfwrap" ] || { echo "xen-e2e.sh: $elfwrap not built (run scripts/setup.sh)" >&2; exit 2; }
fw=$("$top/scripts/build-ovmfxen.sh" --print-dir)
rm -rf "$results"
mkdir -p "$results"
jobs=$results/jobs
mkdir -p "$jobs"

# job N NAME IMAGE [VAR=VALUE...]: a job booting IMAGE as a PVH guest with xl.
# CFG='line' entries (before the VAR=VALUE ones) replace kernel= with other guest.cfg lines.
job() {
  local dir=$jobs/$1-$2 name=$2 image=$3 cfg=()
  shift 3
  while [ $# -gt 0 ] && [ "${1#CFG=}" != "$1" ]; do cfg+=("${1#CFG=}"); shift; done
  mkdir -p "$dir"
  [ -n "$image" ] && cp "$image" "$dir/fw.elf"
  [ ${#cfg[@]} -eq 0 ] && cfg=("kernel = \"/jobs/$(basename "$dir")/fw.elf\"")
  # on_reboot/on_crash destroy: a triple fault is a reboot for HVM-container guests, and xl's
  # default (restart) would re-create a failing guest behind the next job's back.
  { printf 'name = "%s"\ntype = "pvh"\n' "$name"; printf '%s\n' "${cfg[@]}"
    printf 'memory = 256\nvcpus = 1\non_reboot = "destroy"\non_crash = "destroy"\n'; } >"$dir/guest.cfg"
  { echo "NAME=$name"; echo "EXPECT='UEFI Interactive Shell'"; echo "TIMEOUT=90"; printf '%s\n' "$@"; } >"$dir/job.env"
}

progress "wrapping OvmfXen with elfwrap"
w=$results/images
mkdir -p "$w"
"$elfwrap" "$fw/OvmfXen-RELEASE-2M.fd" -o "$w/ovmf-2m-elf64.elf" >/dev/null 2>&1
"$elfwrap" "$fw/OvmfXen-RELEASE-4M.fd" -o "$w/ovmf-4m-elf64.elf" >/dev/null 2>&1
"$elfwrap" "$fw/OvmfXen-RELEASE-2M.fd" -o "$w/ovmf-2m-elf32.elf" --elf-class 32 >/dev/null 2>&1
"$elfwrap" "$fw/OvmfXen-DEBUG-2M.fd" -o "$w/ovmf-2m-debug.elf" >/dev/null 2>&1
for i in "$w"/*.elf; do "$elfwrap" verify "$i" --loader xen >/dev/null; done

job 01 ovmf-2m-elf64 "$w/ovmf-2m-elf64.elf"
job 02 ovmf-4m-elf64 "$w/ovmf-4m-elf64.elf"
job 03 ovmf-2m-elf32 "$w/ovmf-2m-elf32.elf"
job 04 ovmf-2m-debug "$w/ovmf-2m-debug.elf" "TIMEOUT=150"
job 05 edk2-header-4m "$fw/OvmfXen-RELEASE-4M.fd" "EXPECT_FAIL=1" "TIMEOUT=30"
"$elfwrap" "$fw/OvmfXen-RELEASE-2M.fd" -o "$w/ovmf-2m-hole.elf" --load-address 0xffe00000 --allow-mmio-hole >/dev/null 2>&1
job 06 hole-stock-libxc "$w/ovmf-2m-hole.elf" "EXPECT_FAIL=1" "EXPECT_FAIL_SEEN='segment padding too large'" "TIMEOUT=30"
job 07 ovmf-reset "$w/ovmf-2m-elf64.elf" "EXPECT='Shell> '" "SEND='reset -s\\r'" "WAIT_GONE=30"

# pvhboot jobs: KIND=cmd, judged by pvhboot's exit status; then no domain of that name may remain.
pjob() {  # N NAME IMAGE PVHBOOT-ARGS [VAR=VALUE...]
  local dir=$jobs/$1-$2 name=$2 image=$3 args=$4
  shift 4
  mkdir -p "$dir"
  cp "$image" "$dir/fw.elf"
  # The command goes in a script: job.env is sourced, and nested quotes there go wrong.
  printf '%s\n' "pvhboot run fw.elf --memory 256 --name $name --console-log console-pvhboot.log --json $args || exit 1" \
    "if xl domid $name >/dev/null 2>&1; then echo 'domain $name left behind'; exit 1; fi" >"$dir/run.sh"
  { echo "NAME=$name"; echo "KIND=cmd"; echo "TIMEOUT=120"; echo "CMD='sh run.sh'"; printf '%s\n' "$@"; } >"$dir/job.env"
}
"$build/tests/mkfixture" xen-pvh-1m "$w/tiny.fd"
"$elfwrap" "$w/tiny.fd" -o "$w/tiny.elf" >/dev/null
pjob 08 pvhboot-2m "$w/ovmf-2m-elf64.elf" "--expect 'UEFI Interactive Shell' --timeout 60"
pjob 09 pvhboot-4m "$w/ovmf-4m-elf64.elf" "--expect 'UEFI Interactive Shell' --timeout 60"
pjob 10 pvhboot-edk2-4m "$fw/OvmfXen-RELEASE-4M.fd" "--expect 'UEFI Interactive Shell' --timeout 20" "EXPECT_FAIL=1"
pjob 11 pvhboot-startinfo "$w/tiny.elf" "--cmdline 'hello pvhboot' --module module.bin --expect 'PVH-OK cmdline=hello pvhboot mods=1 mem=1' --timeout 30"
head -c 12345 /dev/zero >"$jobs/11-pvhboot-startinfo/module.bin"
# 15/16: images in the MMIO hole, which stock libxc refuses (job 6): pvhboot populates the window.
"$elfwrap" "$w/tiny.fd" -o "$w/tiny-hole.elf" --load-address 0xfff00000 --allow-mmio-hole >/dev/null
pjob 15 pvhboot-hole "$w/ovmf-2m-hole.elf" "--expect 'UEFI Interactive Shell' --timeout 60"
pjob 16 pvhboot-hole-startinfo "$w/tiny-hole.elf" "--cmdline 'hello hole' --module module.bin --expect 'PVH-OK cmdline=hello hole mods=1 mem=2' --timeout 30"
head -c 4321 /dev/zero >"$jobs/16-pvhboot-hole-startinfo/module.bin"
mkdir -p "$jobs/12-pvhboot-sigint" && cp "$w/ovmf-2m-elf64.elf" "$jobs/12-pvhboot-sigint/fw.elf"
cat >"$jobs/12-pvhboot-sigint/run.sh" <<'SH'
pvhboot run fw.elf --memory 256 --name pvhboot-sigint --expect 'never printed' --timeout 50 --console-log console-pvhboot.log &
p=$!
sleep 4
kill -INT $p
wait $p
rc=$?
echo "pvhboot exited with $rc after SIGINT"
if xl domid pvhboot-sigint >/dev/null 2>&1; then echo "domain pvhboot-sigint left behind"; exit 1; fi
[ "$rc" = 1 ]
SH
printf '%s\n' "NAME=pvhboot-sigint" "KIND=cmd" "TIMEOUT=60" "CMD='sh run.sh'" >"$jobs/12-pvhboot-sigint/job.env"
mkdir -p "$jobs/13-bench" && cp "$w/ovmf-2m-elf64.elf" "$jobs/13-bench/fw.elf"
printf '%s\n' "NAME=bench" "KIND=cmd" "TIMEOUT=240" "CMD='sh /harness/bench.sh fw.elf 7'" >"$jobs/13-bench/job.env"
# 14: the harness itself: a command that starts a domain with xl and then hangs past its TIMEOUT
# is killed and its NAME-* domain destroyed (the leftover count after the jobs checks that).
mkdir -p "$jobs/14-harness-cleanup" && cp "$w/ovmf-2m-elf64.elf" "$jobs/14-harness-cleanup/fw.elf"
printf '%s\n' 'name = "harness-cleanup-a"' 'type = "pvh"' 'kernel = "fw.elf"' 'memory = 128' >"$jobs/14-harness-cleanup/guest.cfg"
printf '%s\n' 'xl create guest.cfg || exit 1' 'sleep 600' >"$jobs/14-harness-cleanup/run.sh"
printf '%s\n' "NAME=harness-cleanup" "KIND=cmd" "TIMEOUT=8" "EXPECT_FAIL=1" "RETRY_TRIPLE_FAULT=0" "CMD='sh run.sh'" >"$jobs/14-harness-cleanup/job.env"

# 17-20: the toolstack built with our patches (xen-patches/xen-4.17), as xl-patched in dom0.
job 17 hole-patched-libxc "$w/ovmf-2m-hole.elf" "XL=xl-patched"
job 18 firmware-ovmf-pvh "" 'CFG=firmware = "ovmf"' "XL=xl-patched"
job 19 firmware-override-pvh "$w/ovmf-4m-elf64.elf" 'CFG=firmware = "uefi"' \
  'CFG=firmware_override = "/jobs/19-firmware-override-pvh/fw.elf"' "XL=xl-patched"
job 20 firmware-ovmf-stock-xl "" 'CFG=firmware = "ovmf"' "EXPECT_FAIL=1" "EXPECT_FAIL_SEEN='only pvgrub'" "TIMEOUT=20"
job 25 firmware-path-pvh "$w/ovmf-2m-elf32.elf" 'CFG=firmware = "/jobs/25-firmware-path-pvh/fw.elf"' "XL=xl-patched"
# 24: the fixture guest at 0xfff00000 through xl-patched: libxl's memory map marks the window
# reserved (mem=2), the command line and module reach it.
job 24 hole-startinfo-patched-xl "$w/tiny-hole.elf" 'CFG=kernel = "/jobs/24-hole-startinfo-patched-xl/fw.elf"' \
  'CFG=cmdline = "hello xl"' 'CFG=ramdisk = "/jobs/24-hole-startinfo-patched-xl/module.bin"' "XL=xl-patched" \
  "EXPECT='PVH-OK cmdline=hello xl mods=1 mem=2'" "TIMEOUT=60"
head -c 4321 /dev/zero >"$jobs/24-hole-startinfo-patched-xl/module.bin"
# hvmjob N NAME IMAGE patched|stock|itself [VAR=VALUE...]: IMAGE as an HVM guest's OVMF
# (bios="ovmf", bios_path_override), loaded by the patched toolstack and hvmloader, by the stock
# ones (xen-utils-4.17), or (itself) given to stock xl as firmware_override in place of hvmloader.
hvmjob() {
  local dir=$jobs/$1-$2 name=$2 image=$3 loader=/opt/xen-patched/boot/hvmloader xl=xl-patched
  case $4 in
    stock) loader=/usr/lib/xen-4.17/boot/hvmloader xl=xl ;;
    itself) loader=/jobs/$1-$2/fw.elf xl=xl ;;
  esac
  shift 4
  mkdir -p "$dir"
  cp "$image" "$dir/fw.elf"
  printf '%s\n' "name = \"$name\"" 'type = "hvm"' 'bios = "ovmf"' \
    "bios_path_override = \"/jobs/$(basename "$dir")/fw.elf\"" "firmware_override = \"$loader\"" \
    'memory = 256' 'vcpus = 1' 'vnc = 0' 'sdl = 0' 'vga = "none"' "serial = \"file:/tmp/$name.serial\"" \
    'on_reboot = "destroy"' 'on_crash = "destroy"' >"$dir/guest.cfg"
  { echo "NAME=$name"; echo "XL=$xl"; echo "CONSOLE_FILE=/tmp/$name.serial"; echo "EXPECT='UEFI Interactive Shell'"
    echo "TIMEOUT=180"; echo "SHOW_CONSOLE=1"; printf '%s\n' "$@"; } >"$dir/job.env"
}
# 21: one blob for both: the PVH ELF of job 1 as an HVM guest's OVMF, through the patched
# hvmloader (qemu-xen device model in dom0; serial console to a file).
hvmjob 21 hvm-same-elf "$w/ovmf-2m-elf64.elf" patched
# 22/23: an image that is not whole MiB (Debian's OVMF_CODE_4M.fd, 0x37c000 bytes, raw): the
# patched hvmloader ends it at 4 GiB -> OVMF's boot manager runs; stock hvmloader starts it at
# 4 GiB - 4 MiB, so it ends 0x84000 below the reset vector (negative control).
hvmjob 22 hvm-code-3.5m /usr/share/OVMF/OVMF_CODE_4M.fd patched "EXPECT='BdsDxe|UEFI Interactive Shell'"
hvmjob 23 hvm-code-3.5m-stock /usr/share/OVMF/OVMF_CODE_4M.fd stock "EXPECT='BdsDxe|UEFI Interactive Shell'" \
  "EXPECT_FAIL=1" "EXPECT_FAIL_SEEN='Invoking OVMF'" "TIMEOUT=60"
# 26: stock hvmloader with the PVH ELF as OVMF: used raw (the ELF header lies in the variable-store
# area, which OvmfXen does not read on HVM), as `elfwrap verify --loader hvmloader` says -> shell.
hvmjob 26 hvm-same-elf-stock "$w/ovmf-2m-elf64.elf" stock
# 27: the patched hvmloader stops with its message on an ELF it cannot take: the same image with
# its PT_NOTE turned into a second PT_LOAD (negative control: the message is the expected line).
python3 - "$w/ovmf-2m-elf64.elf" "$w/two-loads.elf" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
phoff, = struct.unpack_from('<Q', b, 0x20)
phentsize, phnum = struct.unpack_from('<HH', b, 0x36)
notes = [phoff + i * phentsize for i in range(phnum) if struct.unpack_from('<I', b, phoff + i * phentsize)[0] == 4]
struct.pack_into('<I', b, notes[0], 1)  # PT_NOTE -> PT_LOAD
open(sys.argv[2], 'wb').write(b)
PY
hvmjob 27 hvm-elf-two-loads "$w/two-loads.elf" patched \
  "EXPECT='OVMF: an ELF image needs exactly one PT_LOAD inside the file with filesz == memsz \\(found 2\\)'" "TIMEOUT=60"
# 28: the PVH ELF as an HVM guest's firmware in place of hvmloader (firmware_override): libxc's ELF
# loader takes an ELF with Xen notes as a PVH kernel and starts it at its PVH entry, so OvmfXen
# runs without hvmloader -> shell (what verify's hvmloader note says). The bios= lines only
# because libxl wants a BIOS file for the qemu-xen device model (SeaBIOS is not in dom0).
hvmjob 28 hvm-firmware-elf "$w/ovmf-2m-elf64.elf" itself "TIMEOUT=60"

# Extra files for dom0: the patched toolstack, the HVM device model, pvhboot.
extra=$results/extra
mkdir -p "$extra/usr/bin"
# copy_libs BIN...: the shared libraries BIN needs (as ldd resolves them, LD_LIBRARY_PATH
# included), at their host paths in dom0; those already in $extra stay where they are.
copy_libs() {
  local l
  for l in $(ldd "$@" | awk '/=> \// { print $3 }' | sort -u); do
    case $l in "$extra"/*) continue ;; esac
    mkdir -p "$extra$(dirname "$l")"
    cp -L "$l" "$extra$l"
  done
}
# The patched toolstack next to the stock one: /opt/xen-patched, run through xl-patched; the
# wrapped OvmfXen where the patched xl looks for firmware="ovmf" (XENFIRMWAREDIR).
xtools=$("$top/scripts/build-xen-tools.sh" --print-dir)
mkdir -p "$extra/opt/xen-patched/lib" "$extra/opt/xen-patched/bin" "$extra/opt/xen-patched/boot" "$extra/usr/lib/xen-4.17/boot"
for so in "$xtools"/usr/lib/x86_64-linux-gnu/*.so.4.17.0; do
  cp "$so" "$extra/opt/xen-patched/lib/$(basename "${so%.0}")"
done
cp "$xtools/usr/lib/xen-4.17/bin/xl" "$extra/opt/xen-patched/bin/xl"
cp "$xtools/usr/lib/xen-4.17/boot/hvmloader" "$extra/opt/xen-patched/boot/hvmloader"
cp "$xtools/build-info.txt" "$extra/opt/xen-patched/"
# Whatever else they link that dom0 may lack (configure links what the build host offers).
LD_LIBRARY_PATH=$extra/opt/xen-patched/lib copy_libs "$extra/opt/xen-patched/bin/xl" "$extra"/opt/xen-patched/lib/*.so.*
printf '#!/bin/sh\nLD_LIBRARY_PATH=/opt/xen-patched/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} exec /opt/xen-patched/bin/xl "$@"\n' >"$extra/usr/bin/xl-patched"
chmod +x "$extra/usr/bin/xl-patched"
cp "$w/ovmf-2m-elf64.elf" "$extra/usr/lib/xen-4.17/boot/ovmf-pvh.elf"
# Stock hvmloader (xen-utils-4.17) for the negative control, and the HVM device model
# (Debian's qemu-system-xen) and what it links.
cp /usr/lib/xen-4.17/boot/hvmloader "$extra/usr/lib/xen-4.17/boot/hvmloader"
ensure_packages qemu-system-xen
dm=/usr/libexec/xen-qemu-system-i386
mkdir -p "$extra/usr/libexec"
cp "$dm" "$extra$dm"
mkdir -p "$extra/usr/share/qemu"
cp -a /usr/share/qemu/keymaps "$extra/usr/share/qemu/"  # read even with -vnc none
copy_libs "$dm"
cp "$build/tools/pvhboot/pvhboot" "$extra/usr/bin/"
copy_libs "$build/tools/pvhboot/pvhboot"

# 6: refused on the host, before any boot.
host=$results/host-results.txt
out=$( "$elfwrap" /usr/share/ovmf/OVMF.fd -o "$w/stock.elf" --target pvh 2>&1 ) && rc=0 || rc=$?
if [ "$rc" = 1 ] && [ ! -e "$w/stock.elf" ] && grep -q "cannot boot as a PVH guest" <<<"$out"; then
  echo "@@RESULT name=stock-refused status=pass expect_fail=1 create_ms=-1 first_output_ms=-1 expect_ms=-1 destroyed=yes reason=elfwrap refused it (exit 1)" >"$host"
else
  echo "@@RESULT name=stock-refused status=fail expect_fail=1 create_ms=-1 first_output_ms=-1 expect_ms=-1 destroyed=yes reason=elfwrap exit $rc" >"$host"
fi
sed 's/^/@@LOG stock-refused| /' <<<"$out" >>"$host"
# What `elfwrap verify --loader hvmloader` predicts for the images of jobs 26 (boots) and 23
# (misses the reset vector): the jobs show what stock hvmloader does with them.
v26=$("$elfwrap" verify "$w/ovmf-2m-elf64.elf" --loader hvmloader 2>&1) && rc26=0 || rc26=$?
v23=$("$elfwrap" verify /usr/share/OVMF/OVMF_CODE_4M.fd --loader hvmloader 2>&1) && rc23=0 || rc23=$?
if [ "$rc26" = 0 ] && [ "$rc23" = 1 ] && grep -q "not a whole number of MiB" <<<"$v23"; then
  echo "@@RESULT name=verify-hvmloader status=pass expect_fail=0 create_ms=-1 first_output_ms=-1 expect_ms=-1 destroyed=yes reason=verify: job 26 image ok, job 23 image refused" >>"$host"
else
  echo "@@RESULT name=verify-hvmloader status=fail expect_fail=0 create_ms=-1 first_output_ms=-1 expect_ms=-1 destroyed=yes reason=verify exit $rc26 (job 26 image) and $rc23 (job 23 image)" >>"$host"
fi
sed 's/^/@@LOG verify-hvmloader| /' <<<"$v26
$v23" >>"$host"

# XEN_E2E_ONLY=REGEX: run only the jobs whose name matches (a developer's shortcut; CI runs all).
if [ -n "${XEN_E2E_ONLY:-}" ]; then
  for d in "$jobs"/*/; do
    n=$(basename "$d")
    [[ ${n#*-} =~ $XEN_E2E_ONLY ]] || rm -rf "$d"
  done
fi

exec "$top/scripts/xen-in-qemu/run.sh" "$jobs" "$results" --timeout 1500 --host-results "$host" --extra "$extra"

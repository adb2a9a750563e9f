#!/usr/bin/env bash
# The main job, end to end: set up and build; build OvmfXen from Debian's edk2 source with our
# patches; wrap it with elfwrap; boot it as a PVH guest on real Xen 4.17 (nested in QEMU);
# show the firmware's shell banner from the guest console and the timings.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib/common.sh"
"$top/scripts/setup.sh"
elfwrap=$top/build/tools/elfwrap/elfwrap
fw=$("$top/scripts/build-ovmfxen.sh" --variants RELEASE-2M --print-dir)
out=$top/build/demo
rm -rf "$out"
mkdir -p "$out/jobs/1-ovmf-pvh"
progress "elfwrap $fw/OvmfXen-RELEASE-2M.fd -o ovmf-pvh.elf"
"$elfwrap" "$fw/OvmfXen-RELEASE-2M.fd" -o "$out/jobs/1-ovmf-pvh/ovmf-pvh.elf"
"$elfwrap" verify "$out/jobs/1-ovmf-pvh/ovmf-pvh.elf" --loader xen
cat >"$out/jobs/1-ovmf-pvh/guest.cfg" <<'CFG'
name = "ovmf-pvh"
type = "pvh"
kernel = "/jobs/1-ovmf-pvh/ovmf-pvh.elf"
memory = 256
vcpus = 1
on_reboot = "destroy"
CFG
printf '%s\n' "NAME=ovmf-pvh" "EXPECT='Shell> '" "TIMEOUT=90" "SHOW_CONSOLE=1" >"$out/jobs/1-ovmf-pvh/job.env"
progress "booting it on Xen 4.17 in QEMU (xl create, guest config above)"
"$top/scripts/xen-in-qemu/run.sh" "$out/jobs" "$out/results" --timeout 600
echo
echo "Guest console (PV console, via xenconsoled), from $out/results/serial.log:"
grep -a '@@LOG ovmf-pvh|' "$out/results/serial.log" | sed 's/^.*@@LOG ovmf-pvh| /  /; s/\x1b\[[0-9;=]*[A-Za-z]//g'

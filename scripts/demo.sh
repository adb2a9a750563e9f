#!/usr/bin/env bash
# The main job, end to end: set up and build; build OvmfXen from Debian's edk2 source with our
# patches; wrap it with elfwrap; build the Linux test guest's disk; boot Xen 4.17 (nested in
# QEMU) and, with stock xl, `type="pvh"` and `kernel=` the wrapped firmware, go
# Xen -> OvmfXen (PVH) -> GRUB from the disk's ESP -> Linux userspace; then the same kernel as a
# direct PVH boot for comparison. Shows the guest's console and where the time went.
#
#   scripts/demo.sh [RESULTS_DIR]        (default build/demo)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib/common.sh"
"$top/scripts/setup.sh"
out=${1:-$top/build/demo}
elfwrap=$top/build/tools/elfwrap/elfwrap
fw=$("$top/scripts/build-ovmfxen.sh" --print-dir)
progress "elfwrap $fw/OvmfXen-RELEASE-2M.fd -o ovmf-pvh.elf"
mkdir -p "$out"
"$elfwrap" "$fw/OvmfXen-RELEASE-2M.fd" -o "$out/ovmf-pvh.elf"
"$elfwrap" verify "$out/ovmf-pvh.elf" --loader xen
status=0
XEN_E2E_ONLY='^(os-grub-pvh|os-direct-pvh)$' "$top/scripts/xen-e2e.sh" "$top/build" "$out/xen" >"$out/xen-e2e.log" 2>&1 || status=$?
echo
echo "The guest's xl.cfg (stock xl; the disk: GPT, an ESP with GRUB, the kernel and initramfs, and an ext4 partition):"
sed 's/^/  /' "$out"/xen/jobs/*-os-grub-pvh/guest.cfg
echo
echo "Its console (Xen's (dN) lines and the PV console), the lines that show each stage:"
grep -aE "XenAcpiPlatform|BdsDxe: (loading|starting)|GRUB: loading|Linux version|Hypervisor detected|Booting paravirtualized kernel|xvda: xvda|guest: |GUEST-OK" \
  "$out/xen/consoles/os-grub-pvh.log" 2>/dev/null | sed 's/\x1b\[[0-9;=?]*[A-Za-z]//g; s/^/  /' | head -20
echo
grep -E "^(os-grub-pvh|os-direct-pvh) |^bench os-boot" "$out/xen/report.txt" 2>/dev/null | sed 's/^/  /'
echo
echo "Everything: $out/xen/report.txt, report.html, consoles/, serial.log"
exit $status

#!/usr/bin/env bash
# The Linux test guest, built from Debian packages only and without root loop mounts: Debian's
# kernel (the one dom0 runs), an initramfs of busybox-static and the modules it needs
# (tests/guests/linux/init; physread.c, built static), GRUB from grub-efi-amd64-bin (grub-mkimage), and disks made with sgdisk, mkfs.vfat +
# mtools and mke2fs -d. Same inputs give byte-identical files.
#
#   scripts/build-guest-disk.sh [--print-dir]
#
# Output ($ELFWRAP_CACHE/guest-disk/<key>/, key = inputs' versions and this script):
#   os.img        GPT: an ESP with \EFI\BOOT\BOOTX64.EFI (GRUB, its config embedded), \vmlinuz
#                 and \initrd.img; an ext4 partition with the marker file
#   os-reboot.img the same, its ext4 partition saying mode=reboot (the guest reboots once)
#   os-nvram.img  mode=nvram: the guest writes a UEFI variable through efivarfs and reboots,
#                 then prints it
#   os-vmgenid.img mode=vmgenid: the guest prints the VM generation ID's bytes, then again each
#                 time they change (a restore), until it is destroyed
#   stub.img      no GRUB, no \EFI\BOOT: the UEFI shell's startup.nsh starts the kernel's EFI stub
#   noesp.img     only the ext4 partition: nothing the firmware can boot
#   iso.img       a hybrid ISO (grub-mkrescue) with the kernel, initramfs and marker
#   nvram-*.img   an ESP whose startup.nsh sets (or shows) UEFI variables and a boot entry, then
#                 powers off: the persistence jobs of xen-pflash
#   vmlinuz, initrd.img  for a direct PVH boot of the same kernel and initramfs (xl)
#   vmlinux       the ELF inside vmlinuz (its Xen notes, the PVH entry): for pvhboot, which
#                 loads ELF only (libxc's bzImage loader unpacks it for xl the same way)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib/common.sh"
. "$top/scripts/lib/kernel.sh"
print=0
[ "${1:-}" = "--print-dir" ] && print=1
cache=${ELFWRAP_CACHE:-/var/cache/elfwrap}
ensure_packages busybox-static gcc libc6-dev cpio gdisk dosfstools mtools e2fsprogs grub-efi-amd64-bin grub-common xorriso kmod faketime
kroot=$(debian_kernel)
marker="elfwrap-guest-disk"
versions="$(cat "$kroot/VERSION"); $(dpkg-query -W -f='${Package} ${Version}; ' busybox-static gcc libc6-dev grub-efi-amd64-bin dosfstools mtools e2fsprogs xorriso gdisk)"
key=$( (echo "$versions"; cat "$0" "$top/tests/guests/linux/init" "$top/tests/guests/linux/physread.c") | sha256sum | cut -c1-12)
out=$cache/guest-disk/$key
if [ -f "$out/BUILD-INFO" ]; then
  [ "$print" = 1 ] && echo "$out"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SOURCE_DATE_EPOCH=1700000000 E2FSPROGS_FAKE_TIME=1700000000 TZ=UTC
stamp() { find "$@" -exec touch -h -d @"$SOURCE_DATE_EPOCH" {} +; }
# frozen CMD...: CMD with the clock stopped at SOURCE_DATE_EPOCH (libfaketime): mtools stamps FAT
# directory entries, and grub-mkrescue and xorriso their files, with the current time.
frozen() {
  FAKETIME="$(date -u -d @"$SOURCE_DATE_EPOCH" '+%Y-%m-%d %H:%M:%S')" FAKETIME_DONT_FAKE_MONOTONIC=1 \
    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 "$@"
}

progress "initramfs: busybox and the guest's modules"
ird=$work/initramfs
mkdir -p "$ird"/{bin,dev,proc,sys,mnt,lib/modules}
cp /bin/busybox "$ird/bin/busybox"
for a in $("$ird/bin/busybox" --list); do [ -e "$ird/bin/$a" ] || ln -s busybox "$ird/bin/$a"; done
cp "$top/tests/guests/linux/init" "$ird/init"
chmod 755 "$ird/init"
# /init reads the ACPI information page and the VM generation ID with it (physread.c says why).
gcc -static -Os -Wall -Wextra -Werror -o "$ird/bin/physread" "$top/tests/guests/linux/physread.c"
: >"$ird/modules.order"
release=$(basename "$(ls -d "$kroot"/lib/modules/*)")
for m in $(kernel_modules "$kroot" xen-blkfront ext4 isofs efivarfs); do
  mkdir -p "$ird/lib/modules/$(dirname "$m")"
  cp "$kroot/lib/modules/$release/$m" "$ird/lib/modules/$m"
  echo "$m" >>"$ird/modules.order"
done
stamp "$ird"
(cd "$ird" && find . | LC_ALL=C sort | cpio -o -H newc --quiet --reproducible | gzip -9n) >"$work/initrd.img"
cp "$kroot/boot/vmlinuz-$release" "$work/vmlinuz"
# The ELF in the bzImage: the first compressed stream (xz, gzip or zstd magic) that unpacks to
# an ELF file. Trailing bytes after the stream make the decompressors complain; the output counts.
vmlinux_of() {
  local magic tool off
  for magic in 'fd377a585a00:xz' '1f8b0800:gzip' '28b52ffd:zstd'; do
    tool=${magic#*:}
    for off in $(LC_ALL=C grep -obUaP "$(echo "${magic%%:*}" | sed 's/../\\x&/g')" "$1" | cut -d: -f1 | head -5); do
      tail -c +$((off + 1)) "$1" | $tool -dc >"$2" 2>/dev/null || true
      [ "$(head -c 4 "$2" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] && return 0
    done
  done
  echo "build-guest-disk: no ELF kernel inside $1" >&2
  return 1
}
vmlinux_of "$work/vmlinuz" "$work/vmlinux"

progress "GRUB (one EFI image, its configuration embedded)"
# The kernel's command line, here and in the ISO's and stub's: console=hvc0, and iomem=relaxed
# so that physread may map the pages of a VM generation ID. hvmloader gives them the E820 type
# ACPI NVS (which OvmfXen passes on, edk2 patch 0004), Linux marks such ranges busy, and Debian's
# kernel (CONFIG_IO_STRICT_DEVMEM=y) refuses /dev/mem mappings of busy ranges unless relaxed: the
# HVM guest printed "mmap of /dev/mem at 0xfc000000 (4096 bytes): Operation not permitted".
# grub-mkimage with an embedded (early) configuration: no menu, no timeout, no file of GRUB's
# own on the disk; and, unlike grub-mkstandalone's memdisk tar, no timestamps in the image.
cat >"$work/early.cfg" <<'CFG'
search --no-floppy --file --set=root /vmlinuz
echo "GRUB: loading /vmlinuz and /initrd.img from ($root)"
linux /vmlinuz console=hvc0 iomem=relaxed
initrd /initrd.img
boot
CFG
grub-mkimage -O x86_64-efi -p /EFI/BOOT -c "$work/early.cfg" -o "$work/BOOTX64.EFI" \
  part_gpt part_msdos fat ext2 iso9660 search search_fs_file echo linux normal
# The ISO's GRUB (grub-mkrescue's) reads /boot/grub/grub.cfg.
cat >"$work/grub.cfg" <<'CFG'
set timeout=0
set default=0
menuentry "elfwrap test guest" {
  search --no-floppy --file --set=root /vmlinuz
  echo "GRUB: loading /vmlinuz and /initrd.img from ($root)"
  linux /vmlinuz console=hvc0 iomem=relaxed
  initrd /initrd.img
}
CFG
stamp "$work/grub.cfg"

# fat_image OUT MiB FILE:DEST...: a FAT file system image holding those files.
fat_image() {
  local img=$1 mib=$2 f
  shift 2
  rm -f "$img"
  frozen mkfs.vfat -C --invariant -i 0e1f0a11 -n ELFWRAP "$img" $((mib * 1024)) >/dev/null
  for f in "$@"; do
    local dest=${f#*:} d=
    for part in $(dirname "$dest" | tr '/' ' '); do
      [ "$part" = . ] && continue
      d="$d/$part"
      frozen mmd -D s -i "$img" "::$d" 2>/dev/null || true
    done
    frozen mcopy -m -i "$img" "${f%%:*}" "::$dest"
  done
}
# ext4_image OUT MiB MODE: the marker partition.
ext4_image() {
  local dir=$work/ext4-$3
  rm -rf "$dir"
  mkdir -p "$dir"
  echo "$marker" >"$dir/marker"
  echo "$3" >"$dir/mode"
  stamp "$dir"
  mke2fs -q -t ext4 -b 1024 -L marker -U 6d5e3c2b-1a09-4f8e-9d7c-6b5a49382716 \
    -E root_owner=0:0,hash_seed=1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9 -d "$dir" "$1" "$2M" >/dev/null
  # mke2fs -d copies each file's ctime, which no one can set on the source: set it here.
  local f
  for f in / /marker /mode; do debugfs -w -R "sif $f ctime @$SOURCE_DATE_EPOCH" "$1" >/dev/null 2>&1; done
}
# gpt_disk OUT ESP_IMAGE|- EXT4_IMAGE|-: a GPT disk, 1 MiB aligned.
gpt_disk() {
  local img=$1 esp=$2 ext=$3 esp_mib=0 ext_mib=0 n=1
  [ "$esp" != - ] && esp_mib=$(( $(stat -c %s "$esp") >> 20 ))
  [ "$ext" != - ] && ext_mib=$(( $(stat -c %s "$ext") >> 20 ))
  rm -f "$img"
  truncate -s $(( (2 + esp_mib + ext_mib) << 20 )) "$img"
  sgdisk -o -U 9c3f0e1a-5b6d-4c7e-8f90-a1b2c3d4e5f6 "$img" >/dev/null
  if [ "$esp" != - ]; then
    sgdisk -n 1:2048:+${esp_mib}M -t 1:EF00 -c 1:ESP -u 1:0f1e2d3c-4b5a-4697-8a89-7b6c5d4e3f20 "$img" >/dev/null
    dd if="$esp" of="$img" bs=1M seek=1 conv=notrunc status=none
    n=2
  fi
  [ "$ext" = - ] && return 0
  sgdisk -n $n:0:+${ext_mib}M -t $n:8300 -c $n:marker -u $n:1a2b3c4d-5e6f-4071-8293-a4b5c6d7e8f9 "$img" >/dev/null
  local start=$(sgdisk -i $n "$img" | awk '/First sector/ { print $3 }')
  dd if="$ext" of="$img" bs=512 seek="$start" conv=notrunc status=none
}
# shell_disk OUT SCRIPT: an ESP holding SCRIPT as startup.nsh (the UEFI shell runs it) and a
# file for `bcfg` to point at; nothing else to boot.
shell_disk() {
  local nsh=$work/$(basename "$1" .img).nsh
  printf '%s\n' "$2" | sed 's/$/\r/' >"$nsh"
  echo "$marker" >"$work/marker.txt"
  stamp "$nsh" "$work/marker.txt"
  fat_image "$work/shell.fat" 2 "$nsh:/startup.nsh" "$work/marker.txt:/marker.txt"
  gpt_disk "$1" "$work/shell.fat" -
}

progress "disks: os, os-reboot, os-nvram, os-vmgenid, stub, noesp"
stamp "$work/vmlinuz" "$work/initrd.img" "$work/BOOTX64.EFI"
fat_image "$work/esp.fat" 24 "$work/BOOTX64.EFI:/EFI/BOOT/BOOTX64.EFI" "$work/vmlinuz:/vmlinuz" "$work/initrd.img:/initrd.img"
printf '%s\r\n' '@echo -off' 'echo "startup.nsh: starting the kernel'"'"'s EFI stub"' 'fs0:' '\vmlinuz initrd=\initrd.img console=hvc0 iomem=relaxed' >"$work/startup.nsh"
stamp "$work/startup.nsh"
fat_image "$work/stub.fat" 24 "$work/startup.nsh:/startup.nsh" "$work/vmlinuz:/vmlinuz" "$work/initrd.img:/initrd.img"
ext4_image "$work/once.ext4" 4 once
ext4_image "$work/reboot.ext4" 4 reboot
ext4_image "$work/nvram.ext4" 4 nvram
ext4_image "$work/vmgenid.ext4" 4 vmgenid
mkdir -p "$out.tmp"
gpt_disk "$out.tmp/os.img" "$work/esp.fat" "$work/once.ext4"
gpt_disk "$out.tmp/os-reboot.img" "$work/esp.fat" "$work/reboot.ext4"
gpt_disk "$out.tmp/os-nvram.img" "$work/esp.fat" "$work/nvram.ext4"
gpt_disk "$out.tmp/os-vmgenid.img" "$work/esp.fat" "$work/vmgenid.ext4"
gpt_disk "$out.tmp/stub.img" "$work/stub.fat" "$work/once.ext4"
gpt_disk "$out.tmp/noesp.img" - "$work/once.ext4"

progress "disks for the UEFI shell: nvram-set, nvram-show, nvram-loop, nvram-loop-show"
guid=6e0b1c1a-3f5d-4d6c-9a8e-2b7f4c1d0e99
shell_disk "$out.tmp/nvram-set.img" "@echo -off
setvar ElfwrapNvram -guid $guid -nv -bs -rt =454c46575241502d4e5652414d
bcfg boot add 9 fs0:\\marker.txt \"elfwrap-nvram-entry\"
echo NVRAM-SET-DONE
reset -s"
shell_disk "$out.tmp/nvram-show.img" "@echo -off
echo NVRAM-SHOW-BEGIN
setvar ElfwrapNvram -guid $guid
bcfg boot dump
echo NVRAM-SHOW-END
reset -s"
shell_disk "$out.tmp/nvram-loop.img" "@echo -off
for %a run (1 40)
  setvar ElfwrapLoop%a -guid $guid -nv -bs =4c4f4f50
  echo LOOP-SET %a
endfor
echo LOOP-DONE
reset -s"
shell_disk "$out.tmp/nvram-loop-show.img" "@echo -off
for %a run (1 40)
  setvar ElfwrapLoop%a -guid $guid
endfor
echo LOOP-SHOW-END
reset -s"

progress "hybrid ISO (grub-mkrescue)"
iso=$work/iso
mkdir -p "$iso/boot/grub"
cp "$work/vmlinuz" "$work/initrd.img" "$iso/"
cp "$work/grub.cfg" "$iso/boot/grub/grub.cfg"
echo "$marker" >"$iso/marker"
stamp "$iso"
frozen grub-mkrescue -o "$out.tmp/iso.img" "$iso" -- -volume_date all_file_dates "=$SOURCE_DATE_EPOCH" >"$work/mkrescue.log" 2>&1 ||
  { cat "$work/mkrescue.log" >&2; exit 1; }
cp "$work/vmlinuz" "$work/vmlinux" "$work/initrd.img" "$out.tmp/"
{ echo "kernel: $(cat "$kroot/VERSION")"; echo "inputs: $versions"; echo "marker: $marker"
  (cd "$out.tmp" && sha256sum *.img vmlinuz vmlinux initrd.img); } >"$out.tmp/BUILD-INFO"
rm -rf "$out"
mv "$out.tmp" "$out"
progress "guest disks in $out"
[ "$print" = 1 ] && echo "$out"
exit 0

#!/usr/bin/env bash
# Builds, from Debian packages only, what the harness boots: the Xen 4.17 hypervisor (from
# xen-hypervisor-4.17-amd64, unpacked, not installed), a dom0 kernel (linux-image-6.1.*-amd64,
# unpacked: scripts/lib/kernel.sh) and a dom0 initramfs base: busybox, the Xen toolstack and its
# libraries, bash/losetup/flock for the block hotplug script, the Xen kernel modules with blkback
# and loop, /etc/xen, and dom0/init + dom0/runner.sh from this directory.
#
#   scripts/xen-in-qemu/build-dom0.sh   ->  prints the directory holding xen, vmlinuz, base.cpio.gz
#
# Cached under $ELFWRAP_CACHE/xen-in-qemu/<key>, the key covering package versions and the
# dom0 scripts; a second run is instant.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/scripts/lib/common.sh"
cache=${ELFWRAP_CACHE:-/var/cache/elfwrap}

ensure_packages qemu-system-x86 busybox-static cpio xen-utils-4.17 xenstore-utils bash util-linux
. "$top/scripts/lib/kernel.sh"
kroot=$(debian_kernel)
xver=$(dpkg-query -W -f='${Version}' xen-utils-4.17)
key=$( (cat "$kroot/VERSION"; echo "$xver"; cat "$here/dom0/init" "$here/dom0/runner.sh" "$here/dom0/bench.sh" "$0" "$top/scripts/lib/kernel.sh") | sha256sum | cut -c1-12)
out=$cache/xen-in-qemu/$key
if [ -s "$out/base.cpio.gz" ]; then
  echo "$out"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

progress "downloading xen-hypervisor-4.17-amd64 ($xver)"
(cd "$work" && apt-get download -qq "xen-hypervisor-4.17-amd64=$xver" >/dev/null 2>&1 ||
  apt-get download -qq xen-hypervisor-4.17-amd64 >/dev/null)
dpkg-deb -x "$work"/xen-hypervisor-4.17-amd64_*.deb "$work/xen"
gunzip -c "$work"/xen/boot/xen-4.17-amd64.gz >"$out/xen"
release=$(basename "$(ls -d "$kroot"/lib/modules/*)")
cp "$kroot/boot/vmlinuz-$release" "$out/vmlinuz"

progress "assembling the dom0 root file system"
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib/modules,lib64,etc,proc,sys,dev,tmp,run,var/log,var/lib,jobs,harness,root}
cp /bin/busybox "$root/bin/busybox"
for a in $("$root/bin/busybox" --list); do
  [ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
done
# bash, losetup and flock: the block hotplug script (/etc/xen/scripts/block) for PV disks
# backed by files (blkback over a loop device) needs them; busybox has no flock. libxl-save-helper:
# xl save and xl restore.
tools="/usr/lib/xen-4.17/bin/xl /usr/lib/xen-4.17/bin/xenstored /usr/lib/xen-4.17/bin/xenconsoled
       /usr/lib/xen-4.17/bin/xen-init-dom0 /usr/lib/xen-4.17/bin/xenconsole /usr/lib/xen-4.17/bin/readnotes
       /usr/lib/xen-4.17/bin/libxl-save-helper
       /usr/bin/xenstore /usr/bin/xenstore-ls /usr/bin/xenstore-read /usr/bin/xenstore-write /usr/bin/xenstore-exists
       /bin/bash /sbin/losetup /usr/bin/flock"
for t in $tools; do
  [ -e "$t" ] || continue
  mkdir -p "$root$(dirname "$t")"
  cp -L "$t" "$root$t"
done
# Every shared library those need (and libgcc_s: xl aborts after create without it).
libs=$(for t in $tools; do [ -e "$t" ] && ldd "$t" 2>/dev/null; done | awk '/=> \// { print $3 } /^\t\/lib64/ { print $1 }' | sort -u)
for l in $libs /lib/x86_64-linux-gnu/libgcc_s.so.1; do
  mkdir -p "$root$(dirname "$l")"
  cp -L "$l" "$root$l"
done
mkdir -p "$root/lib64" && cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
cp -a /etc/xen "$root/etc/"
mkdir -p "$root/usr/lib/xen-4.17/boot"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
# The Xen kernel modules, blkback and loop for the guests' PV disks, and virtio-blk and ext4 for
# the jobs disk.
: >"$root/lib/modules/order"
for m in $(kernel_modules "$kroot" xen-evtchn xen-privcmd xen-gntdev xen-gntalloc xenfs xen-blkback loop \
             virtio_pci virtio_blk ext4); do
  mkdir -p "$root/lib/modules/$(dirname "$m")"
  cp "$kroot/lib/modules/$release/$m" "$root/lib/modules/$m"
  echo "$m" >>"$root/lib/modules/order"
done
cp "$here/dom0/init" "$root/init"
cp "$here/dom0/runner.sh" "$here/dom0/bench.sh" "$root/harness/"
chmod +x "$root/init" "$root/harness/runner.sh" "$root/harness/bench.sh"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1 >"$out/base.cpio.gz.tmp")
mv "$out/base.cpio.gz.tmp" "$out/base.cpio.gz"
echo "$(cat "$kroot/VERSION"); xen $xver" >"$out/VERSIONS"
progress "dom0 ready: $out ($(du -sh "$out/base.cpio.gz" | cut -f1) initramfs)"
echo "$out"

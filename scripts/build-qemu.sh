#!/usr/bin/env bash
# Build qemu-system-x86_64 (x86_64-softmmu only, optional features off) from Debian's qemu 7.2
# source package with our patch series xen-patches/qemu-7.2/ applied: the outer emulator of the
# Xen-in-QEMU harness (see the patch header for why Debian's binary is not enough).
#
#   scripts/build-qemu.sh [--print-path]
#
# Cached as $ELFWRAP_CACHE/qemu/<source version>-<patch hash>/qemu-system-x86_64; a second run
# is instant. The binary finds its firmware with -L /usr/share/qemu -L /usr/share/seabios
# -L /usr/lib/ipxe/qemu (Debian's packages).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib/common.sh"
. "$top/scripts/lib/debsrc.sh"
print=0
[ "${1:-}" = "--print-path" ] && print=1
cache=${ELFWRAP_CACHE:-/var/cache/elfwrap}
patches=$top/xen-patches/qemu-7.2
ensure_packages dpkg-dev build-essential ninja-build meson pkg-config libglib2.0-dev libpixman-1-dev \
  zlib1g-dev libfdt-dev flex bison python3 qemu-system-data seabios ipxe-qemu
ensure_deb_src
src=$(fetch_source qemu "$cache/src")
version=$(cd "$src" && dpkg-parsechangelog -S Version | tr : _)  # no colon in paths (configure refuses it)
phash=$(series_hash "$patches")
out=$cache/qemu/$version-$phash
if [ ! -x "$out/qemu-system-x86_64" ]; then
  work=$cache/build/qemu-$version-$phash
  mkdir -p "$out"
  patched_copy "$src" "$work" "$patches"
  progress "configuring qemu $version (x86_64-softmmu)"
  (cd "$work" && mkdir -p build && cd build &&
    ../configure --target-list=x86_64-softmmu --without-default-features --disable-docs \
      --disable-werror --enable-tcg >"$work/configure.log" 2>&1) || { tail -30 "$work/configure.log" >&2; exit 1; }
  progress "building qemu-system-x86_64 (log: $work/build.log)"
  ninja -C "$work/build" qemu-system-x86_64 >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; exit 1; }
  cp "$work/build/qemu-system-x86_64" "$out/qemu-system-x86_64.tmp"
  mv "$out/qemu-system-x86_64.tmp" "$out/qemu-system-x86_64"
  rm -rf "$work"
  progress "built $out/qemu-system-x86_64"
fi
[ "$print" = 1 ] && echo "$out/qemu-system-x86_64"
exit 0

#!/usr/bin/env bash
# Build OvmfXen (OvmfPkg/OvmfXen.dsc) from Debian's edk2 source package with our patch series
# xen-patches/edk2-2022.11/ applied: RELEASE and DEBUG (DEBUG output on port 0xe9), 2 MiB and
# 4 MiB images.
#
#   scripts/build-ovmfxen.sh [--variants "RELEASE-2M DEBUG-2M RELEASE-4M DEBUG-4M"] [--print-dir]
#
# Output: $ELFWRAP_CACHE/ovmfxen/<source version>-<patch hash>/OvmfXen-<BUILD>-<SIZE>.fd
# (ELFWRAP_CACHE defaults to /var/cache/elfwrap), so a second run with the same source and
# patches is instant. --print-dir prints that directory on stdout (progress goes to stderr).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib/common.sh"
. "$top/scripts/lib/debsrc.sh"
variants="RELEASE-2M DEBUG-2M RELEASE-4M DEBUG-4M"
print_dir=0
while [ $# -gt 0 ]; do
  case "$1" in
    --variants) variants=$2; shift 2 ;;
    --print-dir) print_dir=1; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-ovmfxen.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
cache=${ELFWRAP_CACHE:-/var/cache/elfwrap}
patches=$top/xen-patches/edk2-2022.11

ensure_packages dpkg-dev build-essential uuid-dev acpica-tools nasm python3 python3-distutils
ensure_deb_src
src=$(fetch_source edk2 "$cache/src")
version=$(cd "$src" && dpkg-parsechangelog -S Version)
phash=$(series_hash "$patches")
out=$cache/ovmfxen/$version-$phash
mkdir -p "$out"

missing=()
for v in $variants; do
  [ -s "$out/OvmfXen-$v.fd" ] || missing+=("$v")
done
if [ ${#missing[@]} -eq 0 ]; then
  progress "OvmfXen $version (patches $phash): cached in $out"
  [ "$print_dir" = 1 ] && echo "$out"
  exit 0
fi

# A private copy of the source with our series applied (the unpacked tree stays pristine).
work=$cache/build/edk2-$version-$phash
patched_copy "$src" "$work" "$patches"
if [ ! -x "$work/BaseTools/Source/C/bin/GenFv" ]; then
  progress "building BaseTools"
  make -C "$work/BaseTools" -j"$(nproc)" >"$work/basetools.log" 2>&1 || { tail -30 "$work/basetools.log" >&2; exit 1; }
fi

build_one() {  # BUILD SIZE
  local target=$1 size=$2 flags=()
  [ "$size" = 4M ] && flags+=(-D FD_SIZE_4MB)
  [ "$target" = DEBUG ] && flags+=(-D DEBUG_ON_HYPERVISOR_CONSOLE=TRUE)
  local log=$out/build-$target-$size.log
  progress "building OvmfXen $target $size (log: $log)"
  (
    cd "$work"
    export PYTHON_COMMAND=/usr/bin/python3 WORKSPACE=$work
    set +u --  # edksetup.sh reads its caller's arguments and uses unset variables
    . ./edksetup.sh >/dev/null
    build -a X64 -t GCC5 -p OvmfPkg/OvmfXen.dsc -b "$target" -n "$(nproc)" \
      -D BUILD_SHELL=TRUE "${flags[@]}" -N --conf="$work/Conf"
  ) >"$log" 2>&1 || { tail -40 "$log" >&2; echo "build-ovmfxen.sh: OvmfXen $target $size failed" >&2; exit 1; }
  cp "$work/Build/OvmfXen/${target}_GCC5/FV/OVMF.fd" "$out/OvmfXen-$target-$size.fd.tmp"
  mv "$out/OvmfXen-$target-$size.fd.tmp" "$out/OvmfXen-$target-$size.fd"
  progress "OvmfXen-$target-$size.fd: $(stat -c %s "$out/OvmfXen-$target-$size.fd") bytes"
}
for v in "${missing[@]}"; do
  build_one "${v%-*}" "${v#*-}"
done
printf '%s\n' "source: edk2 $version (Debian)" "patches: $phash" >"$out/BUILD-INFO"
[ "$print_dir" = 1 ] && echo "$out"
exit 0

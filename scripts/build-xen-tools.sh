#!/usr/bin/env bash
# Build the parts of Xen 4.17's toolstack our patches change, from Debian's xen source package
# with Debian's own patches (dpkg-source applies them) and then ours (xen-patches/xen-4.17/):
# libxenguest (libxc's domain builder), libxenlight + xl, and hvmloader.
#
#   scripts/build-xen-tools.sh [--print-dir]   build (once) and optionally print the output dir
#   scripts/build-xen-tools.sh --check-patches  only check that the series applies (patch --dry-run)
#
# Cached as $ELFWRAP_CACHE/xen-tools/<source version>-<patch hash>/ with the files laid out as
# Debian installs them (usr/lib/x86_64-linux-gnu/libxenguest.so.4.17.0, usr/lib/xen-4.17/bin/xl,
# usr/lib/xen-4.17/boot/hvmloader, ...), so that copying the tree over a Debian dom0 replaces
# exactly those files. A second run is instant.
#
# The source: Debian 12's archive serves xen 4.17.5+72 as source while the security archive's
# binaries (4.17.7+13, what dom0 runs) have no source there; the tools' interfaces to the
# hypervisor (domctl/sysctl versions) are those of 4.17 in both. The version built is in the
# cache key and in build-info.txt.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib/common.sh"
. "$top/scripts/lib/debsrc.sh"
mode=build print=0
case "${1:-}" in
  --print-dir) print=1 ;;
  --check-patches) mode=check ;;
  "") ;;
  *) echo "build-xen-tools.sh: unknown option '$1'" >&2; exit 2 ;;
esac
cache=${ELFWRAP_CACHE:-/var/cache/elfwrap}
patches=$top/xen-patches/xen-4.17
ensure_packages dpkg-dev
ensure_deb_src
src=$(fetch_source xen "$cache/src")

if [ "$mode" = check ]; then
  # Against the Debian-patched tree, each patch after the ones before it, exactly (no fuzz):
  # a scratch copy of only the files the series touches.
  rc=0
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  files=$(cat $(sed "s|^|$patches/|" "$patches/series") | awk '/^\+\+\+ / { sub(/^b\//, "", $2); print $2 }' | sort -u)
  for f in $files; do  # (a file a patch creates is not in the tree)
    mkdir -p "$scratch/$(dirname "$f")"
    [ ! -e "$src/$f" ] || cp "$src/$f" "$scratch/$f"
  done
  for p in $(cat "$patches/series"); do
    if out=$(patch -d "$scratch" -p1 --dry-run -F0 <"$patches/$p" 2>&1) && patch -d "$scratch" -p1 -s -F0 <"$patches/$p" >/dev/null; then
      echo "ok    $p"
    else
      echo "FAIL  $p"; echo "$out" | sed 's/^/      /'; rc=1
    fi
  done
  echo "patches: $(basename "$src") + $(wc -l <"$patches/series") of ours: $([ $rc = 0 ] && echo 'all apply cleanly' || echo 'some do not apply')"
  exit $rc
fi

ensure_packages build-essential autoconf automake autotools-dev gcc-multilib python3-dev uuid-dev libyajl-dev zlib1g-dev \
  libzstd-dev liblzma-dev libncurses-dev pkg-config flex bison acpica-tools seabios ovmf
version=$(cd "$src" && dpkg-parsechangelog -S Version)
phash=$(series_hash "$patches")
out=$cache/xen-tools/$version-$phash
if [ ! -f "$out/build-info.txt" ]; then
  work=$cache/build/xen-$version-$phash
  patched_copy "$src" "$work" "$patches"
  log=$work/build.log
  : >"$log"
  if [ ! -f "$work/config/Tools.mk" ]; then
    progress "configuring xen $version tools (log: $log)"
    # Debian's configure arguments (debian/rules), minus what we do not build.
    # Debian deletes config.sub/config.guess from the source and copies the system's (debian/rules).
    (cd "$work" && cp /usr/share/misc/config.sub /usr/share/misc/config.guess . && ./autogen.sh && WGET=/bin/false GIT=/bin/false ./configure \
      --disable-stubdom --disable-docs --prefix=/usr --includedir=/usr/include \
      --libdir=/usr/lib/x86_64-linux-gnu --with-libexec-libdir-suffix=/x86_64-linux-gnu \
      --sysconfdir=/etc --localstatedir=/var --with-libexec-leaf-dir=xen-4.17 \
      --disable-qemu-traditional --disable-rombios --disable-ocamltools --disable-golang \
      --disable-monitors --disable-xsmpolicy --disable-pvshim --disable-werror \
      --with-system-qemu=/usr/libexec/xen-qemu-system-i386 \
      --enable-ovmf --with-system-ovmf=/usr/share/ovmf/OVMF.fd \
      --with-system-seabios=/usr/share/seabios/bios-256k.bin) >>"$log" 2>&1 ||
      { tail -30 "$log" >&2; exit 1; }
  fi
  jobs=$(nproc)
  for d in include libs xl firmware; do
    progress "building tools/$d"
    make -C "$work/tools" -j"$jobs" WGET=/bin/false GIT=/bin/false "subdir-all-$d" >>"$log" 2>&1 ||
      { tail -40 "$log" >&2; exit 1; }
  done
  stage=$out.tmp
  rm -rf "$stage"
  mkdir -p "$stage/usr/lib/x86_64-linux-gnu" "$stage/usr/lib/xen-4.17/bin" "$stage/usr/lib/xen-4.17/boot"
  for l in guest light; do
    so=$(cd "$work/tools/libs/$l" && ls libxen*.so.4.17.0)
    cp "$work/tools/libs/$l/$so" "$stage/usr/lib/x86_64-linux-gnu/$so"
  done
  cp "$work/tools/xl/xl" "$stage/usr/lib/xen-4.17/bin/xl"
  cp "$work/tools/firmware/hvmloader/hvmloader" "$stage/usr/lib/xen-4.17/boot/hvmloader"
  { echo "source: xen $version (Debian source package, Debian's patches applied)"
    echo "ours:   $(tr '\n' ' ' <"$patches/series")(hash $phash)"
    echo "built:  $(date -u +%FT%TZ) on $(nproc) cores"
    (cd "$stage" && find . -type f | sort | sed 's/^\.//; s/^/file:   /'); } >"$stage/build-info.txt"
  rm -rf "$out"
  mv "$stage" "$out"
  rm -rf "$work"
  progress "built $out"
fi
[ "$print" = 1 ] && echo "$out"
exit 0

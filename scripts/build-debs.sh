#!/usr/bin/env bash
# Debian packages of this tree: elfwrap (elfwrap, pvhboot, xen-pflash, man pages) and ovmf-xen-pvh
# (OvmfXen 2 and 4 MiB wrapped for Xen PVH, where xl's firmware="ovmf" looks, and VARS templates),
# built with dpkg-buildpackage from a clean copy of the tracked files, then checked with lintian
# (an error fails the build; the output is kept as lintian.txt next to the packages).
#
#   scripts/build-debs.sh [OUT_DIR]     build into OUT_DIR (default build/debs)
#   scripts/build-debs.sh --print-dir   build into $ELFWRAP_CACHE/debs/<key> unless it is there,
#                                       print that directory (key: the tracked files' contents,
#                                       as they are in the work tree, and the OvmfXen build)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib/common.sh"
print=0 out=$top/build/debs
case ${1:-} in
  --print-dir) print=1 ;;
  "") ;;
  *) out=$1 ;;
esac
ensure_packages debhelper lintian dpkg-dev fakeroot cmake ninja-build pkg-config liblief-dev libcli11-dev \
  doctest-dev nlohmann-json3-dev libxen-dev acpica-tools scdoc python3 man-db bsdextrautils
# The firmware first (debian/rules wraps it; building it inside dpkg-buildpackage would hide its log).
fw=$("$top/scripts/build-ovmfxen.sh" --print-dir)
if [ "$print" = 1 ]; then
  key=$( (cd "$top" && git ls-files -z | xargs -0 sha256sum; basename "$fw") | sha256sum | cut -c1-12)
  out=${ELFWRAP_CACHE:-/var/cache/elfwrap}/debs/$key
  if [ -f "$out/lintian.txt" ]; then
    echo "$out"
    exit 0
  fi
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/elfwrap" "$work/out"
(cd "$top" && git ls-files -z | xargs -0 cp --parents -t "$work/elfwrap")
progress "dpkg-buildpackage (log: $work/out/build.log, kept in the output directory)"
if ! (cd "$work/elfwrap" && dpkg-buildpackage -us -uc -b) >"$work/out/build.log" 2>&1; then
  tail -30 "$work/out/build.log" >&2
  mkdir -p "$out" && cp "$work/out/build.log" "$out/build.log.failed"
  exit 1
fi
mv "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$work/out/"
progress "lintian"
# lintian.txt is written last: its presence marks a complete, checked build.
if ! lintian --fail-on error "$work"/out/*.changes >"$work/out/lintian.log" 2>&1; then
  cat "$work/out/lintian.log" >&2
  exit 1
fi
grep -v "running with root privileges is not recommended" "$work/out/lintian.log" >"$work/out/lintian.out" || true
rm -rf "$out.new"
mkdir -p "$(dirname "$out")"
cp -r "$work/out" "$out.new"
mv "$out.new/lintian.out" "$out.new/lintian.txt"
rm -f "$out.new/lintian.log"
rm -rf "$out"
mv "$out.new" "$out"
progress "packages in $out (lintian: $(wc -l <"$out/lintian.txt") line(s))"
if [ "$print" = 1 ]; then
  echo "$out"
else
  cat "$out/lintian.txt"
  ls -l "$out"/*.deb
fi

#!/usr/bin/env bash
# Debian packages of this tree: elfwrap (elfwrap, pvhboot, xen-pflash, man pages) and ovmf-xen-pvh
# (OvmfXen 2 and 4 MiB wrapped for Xen PVH, where xl's firmware="ovmf" looks, and VARS templates),
# built with dpkg-buildpackage from a clean copy of the tracked files, then checked with lintian.
#
#   scripts/build-debs.sh [OUT_DIR]        (default build/debs)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib/common.sh"
out=${1:-$top/build/debs}
ensure_packages debhelper lintian dpkg-dev fakeroot cmake ninja-build pkg-config liblief-dev libcli11-dev \
  doctest-dev nlohmann-json3-dev libxen-dev acpica-tools scdoc python3 man-db bsdextrautils
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/elfwrap"
(cd "$top" && git ls-files -z | xargs -0 cp --parents -t "$work/elfwrap")
progress "dpkg-buildpackage (log: $out/build.log)"
mkdir -p "$out"
rm -f "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes
(cd "$work/elfwrap" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 || { tail -30 "$out/build.log" >&2; exit 1; }
mv "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out/"
progress "lintian"
lintian --fail-on error "$out"/*.changes | tee "$out/lintian.txt"
ls -l "$out"/*.deb

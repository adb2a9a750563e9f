#!/usr/bin/env bash
# One-command set-up: install the Debian packages the project needs (only the
# missing ones, `apt-get update` at most once), then configure and build.
#
#   scripts/setup.sh [--no-build] [--asan] [--fuzz]
#
# Idempotent: a second run installs nothing and rebuilds incrementally.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib/common.sh"

build=1 asan=0 fuzz=0
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    --asan) asan=1 ;;
    --fuzz) fuzz=1 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown option '$a'" >&2; exit 2 ;;
  esac
done

# Build dependencies, test clients and real images for the tests (chromium: the flight
# report rendered headless, tests/report/).
pkgs=(
  build-essential cmake pkg-config ninja-build
  liblief-dev libcli11-dev doctest-dev nlohmann-json3-dev libxen-dev
  clang-14 libclang-rt-14-dev clang-format-14
  uefitool-cli qemu-system-x86 ovmf xen-utils-4.17
  python3 acpica-tools scdoc man-db bsdextrautils
  chromium fonts-dejavu-core python3-pil
)
ensure_packages "${pkgs[@]}"

[ "$build" = 1 ] || exit 0
progress "configuring build/"
cmake -S "$top" -B "$top/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
progress "building build/"
cmake --build "$top/build" -j"$(nproc)"
if [ "$asan" = 1 ]; then
  progress "configuring build-asan/ (ASan+UBSan, clang)"
  CC=clang-14 CXX=clang++-14 cmake -S "$top" -B "$top/build-asan" -G Ninja \
    -DCMAKE_BUILD_TYPE=Debug -DELFWRAP_SANITIZE=ON >/dev/null
  cmake --build "$top/build-asan" -j"$(nproc)"
fi
if [ "$fuzz" = 1 ]; then
  progress "configuring build-fuzz/ (libFuzzer, clang)"
  CC=clang-14 CXX=clang++-14 cmake -S "$top" -B "$top/build-fuzz" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DELFWRAP_FUZZ=ON >/dev/null
  cmake --build "$top/build-fuzz" -j"$(nproc)"
fi
progress "set-up done"

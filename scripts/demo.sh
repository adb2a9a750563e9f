#!/usr/bin/env bash
# The main job, end to end: set up (packages, build), then explain Debian's OVMF images.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib/common.sh"
"$top/scripts/setup.sh"
elfwrap=$top/build/tools/elfwrap/elfwrap
for img in /usr/share/ovmf/OVMF.fd /usr/share/OVMF/OVMF_CODE_4M.fd; do
  progress "elfwrap inspect $img"
  "$elfwrap" inspect "$img"
  echo
done

#!/usr/bin/env bash
# The real-Xen smoke matrix (ctest label xen-e2e): the jobs of tests/xen/jobs.toml, booted on
# Xen 4.17 nested in QEMU. The job list, its images and its shards live in that file only;
# README's job table is generated from it (scripts/xen-in-qemu/jobs.py readme).
#
#   scripts/xen-e2e.sh [BUILD_DIR] [RESULTS_DIR]
#
# XEN_E2E_SHARD=S runs one shard (a GitLab job each; `jobs.py shards` lists them; several
# separated by spaces),
# XEN_E2E_ONLY=REGEX only the jobs whose name matches (a developer's shortcut; CI runs all).
# Results: RESULTS_DIR/{junit.xml,summary.json,report.txt,report.html,consoles/,serial.log}.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib/common.sh"
build=${1:-$top/build}
results=${2:-$build/xen-e2e}
elfwrap=$build/tools/elfwrap/elfwrap
[ -x "$elfwrap" ] || { echo "xen-e2e.sh: $elfwrap not built (run scripts/setup.sh)" >&2; exit 2; }
jobs_py=$top/scripts/xen-in-qemu/jobs.py
python3 "$jobs_py" check >&2
select=(${XEN_E2E_SHARD:+--shard "$XEN_E2E_SHARD"} ${XEN_E2E_ONLY:+--only "$XEN_E2E_ONLY"})

# The whole matrix: the shards in XEN_E2E_RIGS (default 2) groups of about the same budget, one
# Xen-in-QEMU rig each, at the same time (a rig's TCG runs on one host thread; the load factor
# each job measures scales its budget to what the other rig leaves it). The second rig starts
# once the first boots, so the caches (OvmfXen, guest disks, toolstack, dom0) are built once.
# Results: RESULTS_DIR/part-N/ per rig, and RESULTS_DIR/report.txt with all of them.
rigs=${XEN_E2E_RIGS:-2}
if [ -z "${XEN_E2E_SHARD:-}${XEN_E2E_ONLY:-}" ] && [ "$rigs" -gt 1 ]; then
  rm -rf "$results"
  mkdir -p "$results"
  mapfile -t groups < <(python3 "$jobs_py" shards --split "$rigs")
  pids=()
  for i in "${!groups[@]}"; do
    part=$results/part-$((i + 1))
    progress "rig $((i + 1)): shards ${groups[$i]} (log: $part.log)"
    XEN_E2E_SHARD=${groups[$i]} "$0" "$build" "$part" >"$part.log" 2>&1 &
    pids+=($!)
    # Until this rig boots Xen (or ends): the next one then finds every cache built.
    while kill -0 "${pids[-1]}" 2>/dev/null && ! grep -q "booting Xen" "$part.log" 2>/dev/null; do sleep 2; done
  done
  status=0
  for pid in "${pids[@]}"; do wait "$pid" || status=1; done
  for i in "${!groups[@]}"; do
    part=$results/part-$((i + 1))
    echo "==== rig $((i + 1)): shards ${groups[$i]}"
    if [ -f "$part/report.txt" ]; then cat "$part/report.txt"; else tail -20 "$part.log"; fi
  done >"$results/report.txt"
  python3 - "$results" "${#groups[@]}" >>"$results/report.txt" <<'PY' || status=1
import json, os, sys
passed = failed = 0
for i in range(1, int(sys.argv[2]) + 1):
    f = os.path.join(sys.argv[1], "part-%d" % i, "summary.json")
    if not os.path.exists(f):
        failed += 1  # a rig that did not report
        continue
    s = json.load(open(f))
    passed += s["passed"]
    failed += s["failed"]
print("xen-e2e (%s rigs): %d passed, %d failed" % (sys.argv[2], passed, failed))
sys.exit(1 if failed else 0)
PY
  cat "$results/report.txt"
  exit $status
fi

fw=$("$top/scripts/build-ovmfxen.sh" --print-dir)
rm -rf "$results"
mkdir -p "$results"
progress "building the images and writing the jobs (${XEN_E2E_SHARD:-all shards}${XEN_E2E_ONLY:+, only $XEN_E2E_ONLY})"
disks=$("$top/scripts/build-guest-disk.sh" --print-dir)
tools=(--elfwrap "$elfwrap" --mkfixture "$build/tests/mkfixture" --firmware "$fw" --guests "$build/tests/guests" --disks "$disks")
python3 "$jobs_py" expand "$results" "${tools[@]}" "${select[@]}"
python3 "$jobs_py" host "$results" "${tools[@]}" "${select[@]}" >"$results/host-results.txt"

# Extra files for dom0: the patched toolstack, the HVM device model, pvhboot.
extra=$results/extra
mkdir -p "$extra/usr/bin"
# copy_libs BIN...: the shared libraries BIN needs (as ldd resolves them, LD_LIBRARY_PATH
# included), at their host paths in dom0; those already in $extra stay where they are.
copy_libs() {
  local l
  for l in $(ldd "$@" | awk '/=> \// { print $3 }' | sort -u); do
    case $l in "$extra"/*) continue ;; esac
    mkdir -p "$extra$(dirname "$l")"
    cp -L "$l" "$extra$l"
  done
}
# The patched toolstack next to the stock one: /opt/xen-patched, run through xl-patched; the
# wrapped OvmfXen where the patched xl looks for firmware="ovmf" (XENFIRMWAREDIR).
xtools=$("$top/scripts/build-xen-tools.sh" --print-dir)
mkdir -p "$extra/opt/xen-patched/lib" "$extra/opt/xen-patched/bin" "$extra/opt/xen-patched/boot" "$extra/usr/lib/xen-4.17/boot"
for so in "$xtools"/usr/lib/x86_64-linux-gnu/*.so.4.17.0; do
  cp "$so" "$extra/opt/xen-patched/lib/$(basename "${so%.0}")"
done
cp "$xtools/usr/lib/xen-4.17/bin/xl" "$extra/opt/xen-patched/bin/xl"
cp "$xtools/usr/lib/xen-4.17/boot/hvmloader" "$extra/opt/xen-patched/boot/hvmloader"
cp "$xtools/build-info.txt" "$extra/opt/xen-patched/"
# Whatever else they link that dom0 may lack (configure links what the build host offers).
LD_LIBRARY_PATH=$extra/opt/xen-patched/lib copy_libs "$extra/opt/xen-patched/bin/xl" "$extra"/opt/xen-patched/lib/*.so.*
printf '#!/bin/sh\nLD_LIBRARY_PATH=/opt/xen-patched/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} exec /opt/xen-patched/bin/xl "$@"\n' >"$extra/usr/bin/xl-patched"
chmod +x "$extra/usr/bin/xl-patched"
"$elfwrap" "$fw/OvmfXen-RELEASE-2M.fd" -o "$extra/usr/lib/xen-4.17/boot/ovmf-pvh.elf" >/dev/null 2>&1
# Stock hvmloader (xen-utils-4.17) for the negative control, and the HVM device model
# (Debian's qemu-system-xen) and what it links.
cp /usr/lib/xen-4.17/boot/hvmloader "$extra/usr/lib/xen-4.17/boot/hvmloader"
ensure_packages qemu-system-xen
dm=/usr/libexec/xen-qemu-system-i386
mkdir -p "$extra/usr/libexec" "$extra/usr/share/qemu"
cp "$dm" "$extra$dm"
cp -a /usr/share/qemu/keymaps "$extra/usr/share/qemu/"  # read even with -vnc none
copy_libs "$dm"
# pvhboot, xen-pflash, and elfwrap (for the VARS files of the NVRAM jobs) with its LIEF plugin.
for t in pvhboot xen-pflash elfwrap; do
  cp "$build/tools/$t/$t" "$extra/usr/bin/"
  copy_libs "$build/tools/$t/$t"
done
cp "$build/tools/elfwrap/elfwrap-lief.so" "$extra/usr/bin/"
copy_libs "$build/tools/elfwrap/elfwrap-lief.so"
mkdir -p "$extra/harness/checks"
cp "$top"/scripts/xen-in-qemu/checks/*.sh "$extra/harness/checks/"

# The outer timeout is only a safety net (every job has its own, load-scaled budget).
budget=$(python3 - "$results/jobs" <<'PY'
import os, sys
total = 0
for d in os.listdir(sys.argv[1]):
    if not os.path.exists(os.path.join(sys.argv[1], d, "job")):
        continue
    for line in open(os.path.join(sys.argv[1], d, "job")):
        if line.startswith("TIMEOUT="):
            total += int(line.split("=", 1)[1])
print(max(1800, 3 * total))
PY
)
exec "$top/scripts/xen-in-qemu/run.sh" "$results/jobs" "$results" --timeout "$budget" --host-results "$results/host-results.txt" --extra "$extra"

#!/usr/bin/env bash
# Boots real Xen 4.17 nested in QEMU (TCG) with a dom0 that runs a list of guest jobs, then
# writes the results.
#
#   scripts/xen-in-qemu/run.sh JOBS_DIR RESULTS_DIR [--timeout SECONDS] [--extra DIR]
#
# JOBS_DIR holds one directory per job (see dom0/runner.sh for job.env); --extra DIR is copied
# to / in dom0 (e.g. our tools); --host-results FILE adds "@@RESULT" lines of checks run on the
# host (e.g. images refused before any boot) to the report. RESULTS_DIR gets serial.log (the whole serial console),
# junit.xml (one testcase per job), summary.json (per-job timings) and report.txt.
# Exit status: 0 when every job passed and no domain was left, 1 otherwise.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/scripts/lib/common.sh"
jobs=$1 results=$2
shift 2
timeout=900 extra="" host_results=""
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) timeout=$2; shift 2 ;;
    --extra) extra=$2; shift 2 ;;
    --host-results) host_results=$2; shift 2 ;;
    *) echo "run.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
mkdir -p "$results"
dom0=$("$here/build-dom0.sh" | tail -1)
# The outer emulator: Debian's QEMU 7.2 with our fixes (xen-patches/qemu-7.2): unpatched, it aborts
# in tcg_handle_interrupt when an OVMF guest of the nested Xen writes CR8, and delivers some
# interrupts the nested Xen injects twice.
qemu=$("$top/scripts/build-qemu.sh" --print-path)

# The extra files (our tools, the patched toolstack) as a second initramfs archive, which the
# kernel unpacks over the first; the jobs on an ext4 disk dom0 mounts at /jobs, with room for
# what the jobs write (VARS files, copies of disks, logs): a sparse file, only what is written
# takes space.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root"
[ -n "$extra" ] && cp -a "$extra"/. "$work/root/"
(cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -1 >"$work/extra.cpio.gz")
cat "$dom0/base.cpio.gz" "$work/extra.cpio.gz" >"$work/initrd.gz"
jobs_mib=$(du -sm --apparent-size "$jobs" | cut -f1)
/sbin/mke2fs -q -t ext4 -L jobs -E root_owner=0:0 -d "$jobs" "$work/jobs.img" "$(( jobs_mib * 2 + 1024 ))M"

progress "booting Xen 4.17 in QEMU ($(ls "$jobs" | wc -l) jobs, log: $results/serial.log, at most ${timeout}s)"
# Workarounds for QEMU 7.2's SVM emulation (scripts/xen-in-qemu/README.md): smap=0 for Xen (dom0 dies in
# create_bounce_frame otherwise); no RDTSCP in the guest CPU (RDTSCP intercept bug); no FSGSBASE
# (with it, Linux guests of the nested Xen sometimes die right after userspace starts).
set +e
timeout --foreground "$timeout" "$qemu" -L /usr/share/qemu -L /usr/share/seabios -L /usr/lib/ipxe/qemu \
  -accel tcg,thread=single -cpu "${XEN_E2E_CPU:-max,-rdtscp,-fsgsbase}" -M pc -smp 2 -m 3072 -nographic -no-reboot -nodefaults \
  -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 \
  -kernel "$dom0/xen" \
  -append "console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M dom0_max_vcpus=1 loglvl=all guest_loglvl=all conring_size=4M smap=0" \
  -initrd "$dom0/vmlinuz console=hvc0 earlyprintk=xen quiet,$work/initrd.gz" \
  -drive file="$work/jobs.img",format=raw,if=virtio,cache=unsafe \
  </dev/null >"$results/serial.log" 2>&1
qemu_rc=$?
set -e
progress "QEMU exited with status $qemu_rc"
python3 "$here/report.py" "$results/serial.log" "$results" --qemu-status "$qemu_rc" --expected "$(ls "$jobs"/*/job 2>/dev/null | wc -l)" \
  ${host_results:+--host-results "$host_results"}

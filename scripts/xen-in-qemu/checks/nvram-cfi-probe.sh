# xen-pflash against a guest of our own that talks CFI to it directly (tests/guests/flash-probe.S):
# attached while the domain is paused, as pvhboot and xl do; each answer must be the flash's.
. /harness/checks/lib.sh
elfwrap vars blank --layout 0x20000 -o vars.fd || exit 1
printf '%s\n' "name = \"$NAME\"" 'type = "pvh"' 'kernel = "fw.elf"' 'memory = 64' 'on_poweroff = "destroy"' 'on_reboot = "destroy"' >g.cfg
# The probe's lines are waited for with hv_lines (lib.sh), not by copying Xen's 4 MiB ring every
# 0.2 s, which took dom0's one vCPU from xen-pflash, the emulator under test: on a busy host the
# probe did not finish in its budget. The ring, the authority, is read once at the end.
hv_mark
xl create -p g.cfg || exit 1
d=$(xl domid "$NAME")
xen-pflash --domid "$d" --vars vars.fd --base 0xffe00000 &
pf=$!
sleep 1
xl unpause "$NAME"
# Four fifths of the job's budget (load-scaled as it goes), so that a probe that did not finish is
# reported by this script.
clock_start; budget_start $(( IDLE_TIMEOUT * 4 / 5 ))
while ! hv_lines "$d" | grep -q "flash-probe: done" && budget_left; do
  sleep 0.5
done
xl dmesg | grep "(d$d) flash-probe" | sed 's/^.*flash-probe/flash-probe/' | tee probe.log
for want in "byte at +0x10: 8d" "status after 0x70: 80" "after programming 0x42: 42" "after erasing its block: ff" \
            "rep movsl from +0x48: 78" "and removed: rc 00" "done"; do
  grep -q "$want" probe.log || { echo "missing: flash-probe: $want"; exit 1; }
done
# The domain powered off; xen-pflash ends by itself once it is destroyed.
xl destroy "$NAME" 2>/dev/null
i=0
while kill -0 $pf 2>/dev/null; do i=$((i + 1)); [ $i -gt 50 ] && { echo "xen-pflash still running"; exit 1; }; sleep 0.2; done
wait $pf || { echo "xen-pflash failed"; exit 1; }
elfwrap vars list vars.fd >/dev/null || exit 1
echo "all answers right; xen-pflash ended with the domain"

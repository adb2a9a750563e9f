# The platform pvhboot gives a PVH domain, seen by OvmfXen's DEBUG build: with an RSDP in
# start_info, XenPlatformPei does not assert, XenBusDxe starts on the store pvhboot introduced to
# xenstored (its DEBUG log goes to Xen's console: xl dmesg), and the UEFI shell's acpiview lists
# the tables (the MADT with one Local APIC per vCPU).
. /harness/checks/lib.sh
xl dmesg -c >/dev/null
pvhboot run fw.elf --memory 256 --vcpus 2 --name "$NAME" --timeout "$TIMEOUT" --console-log console.pvhboot \
  --input 'acpiview -l\racpiview -s APIC\rset V END\recho PLATFORM-%V%\r' \
  --expect 'PLATFORM-END' --fail-on 'ASSERT' || { plain console.pvhboot | tail -30; fail "pvhboot"; }
xl dmesg >xen.log
grep -E "XenBusInit|XenBus: |ASSERT|Xen PVH|RSDP" xen.log | sed "s/^/$NAME: xl dmesg: /" | head -12
grep -q "ASSERT" xen.log && fail "the firmware asserted"
grep -q "XenBusInit: XenBus rings" xen.log || fail "XenBusDxe did not start (no XenBusInit in the firmware's log)"
plain console.pvhboot >console.txt
sed -n '/Installed Table(s)/,/^$/p' console.txt | sed "s/^/$NAME: acpiview -l: /"
for t in RSDP XSDT FACP DSDT APIC; do
  grep -qE "^[[:space:]]*[0-9]+\. $t" console.txt || fail_console console.pvhboot "acpiview -l does not list $t"
done
lapics=$(grep -cE "^ *APIC ID +: " console.txt)
grep -E "^ *(ACPI Processor UID|APIC ID) +: " console.txt | head -6 | sed "s/^/$NAME: acpiview -s APIC: /"
[ "$lapics" = 2 ] || fail "acpiview -s APIC shows $lapics Local APIC entries, not 2"
say "ok: XenBus started, no ASSERT, the tables listed, 2 Local APICs"

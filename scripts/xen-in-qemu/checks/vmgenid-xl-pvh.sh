# xl's ms_vm_genid for a PVH guest (xen-patches/xen-4.17/0005): OvmfXen's UEFI shell sees the
# SSDT's device, VGIA, the 16 bytes of the ID at VGIA and a Reserved page. (Save and restore are
# vmgenid-xl-restore's: the firmware cannot be saved, having no PV suspend support.)
. /harness/checks/lib.sh
n=$NAME
{ printf '%s\n' "name = \"$n\"" 'type = "pvh"' "kernel = \"$PWD/fw.elf\"" 'memory = 256' 'vcpus = 1' \
    'on_reboot = "destroy"' 'on_crash = "destroy"' 'ms_vm_genid = "generate"'; } >"$n.cfg"
xl-patched create "$n.cfg" >create.log 2>&1 || { cat create.log; fail "xl create"; }
log=$(console_log "$n")
wait_console "$n" 'Shell> ' 90 >/dev/null || { plain "$log" | tail -20; fail "no shell"; }
sleep 1
type_console "$n" 'acpiview -s SSDT\r'
info=$(shell_dmem "$n" "$log" 0xfc000010 30) || fail "dmem of the information page"
vgia=$(vgia_of $info)
say "VGIA $(printf '%#x' "$vgia")"
[ "$vgia" -ne 0 ] || fail "VGIA is 0: no generation ID"
ssdt_has_vmgenid "$log" || fail_console "$log" "acpiview -s SSDT shows no VM_Gen_Counter device"
plain "$log" | grep -E "^ *(Signature|Oem Table ID) +: " | sed "s/^/$n: acpiview: /"
id1=$(shell_dmem "$n" "$log" "$(printf '%#x' "$vgia")" 30) || fail "dmem at VGIA"
say "dmem $(printf '%#x' "$vgia") 10: $id1"
[ "$id1" != "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00" ] || fail "the ID is all zeros"
type_console "$n" 'memmap\r'
sleep "$(scaled 5)"
type=$(memmap_type "$log" "$vgia")
say "memmap: the ID's page is $type"
[ "$type" = Reserved ] || fail "memmap gives the ID's page the type '$type', not Reserved"
type_console "$n" 'set V END\recho VMGENID-%V%\r'
wait_console "$n" 'VMGENID-END' 30 >/dev/null || fail "the shell stopped answering"
xl destroy "$n"
say "ok: SSDT with the device, VGIA, the ID at VGIA, a Reserved page"

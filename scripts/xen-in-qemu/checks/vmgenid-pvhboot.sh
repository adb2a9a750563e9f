# A VM generation ID given to pvhboot, seen from the UEFI shell: acpiview -s SSDT dumps the
# device's table, the information page's VGIA holds the address pvhboot's plan shows, `dmem` there
# shows exactly the ID's bytes (the GUID's first three fields little-endian), and `memmap` shows
# the page as Reserved (never usable by the OS).
. /harness/checks/lib.sh
guid=8f3a2c1e-5b7d-4e6f-9a0b-1c2d3e4f5a6b
want="1E 2C 3A 8F 7D 5B 6F 4E 9A 0B 1C 2D 3E 4F 5A 6B"
pvhboot plan fw.elf --memory 256 --generation-id "$guid" >plan.txt || fail "pvhboot plan"
grep "VM generation ID" plan.txt | sed "s/^/$NAME: plan: /"
addr=$(sed -nE 's/.*VM generation ID [0-9a-f-]+ at (0x[0-9a-f]+).*/\1/p' plan.txt)
[ -n "$addr" ] || fail "the plan shows no generation ID address"
pvhboot run fw.elf --memory 256 --generation-id "$guid" --name "$NAME" --timeout "$TIMEOUT" --console-log console.pvhboot \
  --input "acpiview -s SSDT\rdmem 0xfc000010 10\rdmem $addr 10\rmemmap\rset V END\recho VMGENID-%V%\r" \
  --expect 'VMGENID-END' || { plain console.pvhboot | tail -30; fail "pvhboot"; }
log=console.pvhboot
plain $log | grep -E "^ *(Signature|Oem Table ID) +: |^ *FC0000[01]0: |^ *$(printf '%08X' "$addr"): " | sed "s/^/$NAME: shell: /"
acpi_dump_has_vmgenid $log || fail_console $log "acpiview -s SSDT shows no VM_Gen_Counter device"
vgia=$(vgia_of $(dmem_bytes $log FC000010))
[ "$vgia" = "$(( addr ))" ] || fail "VGIA is $(printf '%#x' "$vgia"), the plan says $addr"
got=$(dmem_bytes $log "$(printf '%08X' "$addr")")
[ "$got" = "$want" ] || fail "dmem $addr shows '$got', not the ID's bytes '$want'"
range=$(memmap_range $log "$addr")
say "memmap: $range"
type=${range%% *}
[ "$type" = Reserved ] || fail "memmap gives the ID's page the type '$type', not Reserved"
say "ok: SSDT with the device, VGIA $addr, dmem shows the ID, the page is Reserved"

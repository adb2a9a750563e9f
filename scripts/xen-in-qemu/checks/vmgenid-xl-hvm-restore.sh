# xl's existing ms_vm_genid for an HVM guest (the PVH ELF as its OVMF, through our hvmloader)
# across `xl save` and `xl restore CONFIG`: Linux, booted through OVMF from the PV disk, prints the
# ID's bytes read at hvmloader's VGIA; after the restore libxl wrote a new ID there and the
# running guest sees the bytes change.
. /harness/checks/lib.sh
hvm_guest "$NAME" /jobs/shared/os-vmgenid-disk 'ms_vm_genid = "generate"' 'memory = 512' || fail "xl create"
vmgenid_restore "$NAME"
xl destroy "$NAME"
say "ok: a new ID after xl save + xl restore of an HVM guest, seen by the running guest"
